"""Gatys et al. (2016) neural style transfer by optimising the image itself, with L-BFGS or Adam.

    python -m tools.gatys --content photo.jpg --style starry.jpg --output out.png --size 256 --iters 200

Also: several style images with weights, content-only / style-only reconstructions (feature inversion and texture
synthesis), coarse-to-fine multi-scale, colour preservation, intermediate snapshots and a CSV log. The Python API
(:func:`stylize_image`, :func:`optimize`) is what the video mode, the teacher targets and evaluation reuse.

The loss is :class:`tools.perceptual.PerceptualLoss`, the same one the feed-forward trainer uses, so the printed
style/content distances are directly comparable with a trained network's.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from livestyle.errors import ConfigError, LivestyleError
from tools.images import load_tensor, save_rgb
from tools.perceptual import LossConfig, PerceptualLoss

_LOSS = LossConfig()

Objective = Callable[[torch.Tensor], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class GatysConfig:
    """Settings of one Gatys optimisation. ``size`` is the longer side of the output in pixels.

    ``lr`` is Adam's step in pixel units ([0, 255] images); L-BFGS uses lr 1 (its steps are scaled by the curvature
    estimate). ``style_scale`` sizes each style image relative to the output (longer side = style_scale * size),
    which sets the size of the brush strokes. ``scales`` > 1 runs coarse-to-fine: each scale halves the size and the
    upsampled result initialises the next, which gives larger coherent structures for the same final cost.
    """

    size: int | None = 256
    iters: int = 200
    optimizer: str = "lbfgs"
    init: str = "content"
    content_weight: float = _LOSS.content_weight
    style_weight: float = _LOSS.style_weight
    tv_weight: float = _LOSS.tv_weight
    content_layers: tuple[str, ...] = _LOSS.content_layers
    style_layers: tuple[str, ...] = _LOSS.style_layers
    pooling: str = _LOSS.pooling
    lr: float = 5.0
    scales: int = 1
    style_scale: float = 1.0
    preserve_colors: bool = False
    seed: int = 0

    def validate(self) -> None:
        if self.size is not None and self.size < 16:
            raise ConfigError(f"--size {self.size} is too small: use at least 16 pixels")
        if self.size is not None and self.size > 4096:
            raise ConfigError(f"--size {self.size} is too large for this tool: use at most 4096 pixels")
        if self.iters < 0:
            raise ConfigError(f"--iters must be >= 0, got {self.iters}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise ConfigError(f"--optimizer must be lbfgs or adam, got {self.optimizer!r}")
        if self.init not in ("content", "style", "noise"):
            raise ConfigError(f"--init must be content, style or noise, got {self.init!r}")
        if self.scales < 1:
            raise ConfigError(f"--scales must be >= 1, got {self.scales}")
        if self.lr <= 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")
        if self.pooling not in ("max", "avg"):
            raise ConfigError(f"--pooling must be max or avg, got {self.pooling!r}")
        if min(self.content_weight, self.style_weight, self.tv_weight) < 0:
            raise ConfigError("loss weights must be >= 0")


@dataclass
class GatysResult:
    """The optimised image (RGB float [0, 255], clamped) and what happened on the way."""

    image: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    style_distance: float = float("nan")
    content_distance: float = float("nan")
    content_style_distance: float = float("nan")  # the content image's own distance to the style, for reference
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------------------------
# Core optimisation loop


def optimize(
    x0: torch.Tensor,
    objective: Objective,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float = 5.0,
    *,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    progress: bool | str = True,
    start_iteration: int = 0,
) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Minimise ``objective(x)["total"]`` over the pixels of ``x0`` for ``iters`` iterations.

    One iteration is one forward+backward evaluation for both optimisers (L-BFGS with ``max_iter=1`` per step and
    no line search, as in jcjohnson/neural-style), so loss-vs-iteration curves compare equal compute. Returns the
    final image (unclamped) and one history row per iteration with every loss term, the iteration and the
    elapsed seconds. ``callback(iteration, x)`` runs after each step (snapshots).
    """
    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [x], lr=1.0, max_iter=1, history_size=50, tolerance_grad=-1.0, tolerance_change=-1.0
        )
    elif optimizer == "adam":
        opt = torch.optim.Adam([x], lr=lr)
    else:
        raise ConfigError(f"optimizer must be lbfgs or adam, got {optimizer!r}")
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    desc = progress if isinstance(progress, str) else optimizer
    bar = tqdm(range(iters), desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    last: dict[str, torch.Tensor] = {}

    # L-BFGS only updates its curvature history when y.s > 1e-10, and takes its very first step as the raw
    # gradient. With a loss of relative distances (tools.perceptual), the per-pixel gradient is ~1e-6, so y.s
    # never passes and L-BFGS crawls along the raw gradient: it "does not move". Scaling the objective so the
    # first gradient has mean |g| = 1 (pixel units) fixes that and does not change the optimum; Adam is scale
    # invariant and needs nothing. Reported losses stay unscaled.
    scale: list[float] = []

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        terms = objective(x)
        total = terms["total"]
        if optimizer == "lbfgs":
            if not scale:
                total.backward(retain_graph=False)
                g = float(x.grad.abs().mean()) if x.grad is not None else 0.0
                scale.append(1.0 / g if g > 0 and math.isfinite(g) else 1.0)
                x.grad.mul_(scale[0])
            else:
                (total * scale[0]).backward()
        else:
            total.backward()
        last.clear()
        last.update({k: v.detach() for k, v in terms.items()})
        return total * scale[0] if scale else total

    for i in bar:
        opt.step(closure)
        row = {"iteration": float(start_iteration + i), "seconds": time.perf_counter() - t0}
        row.update({k: float(v) for k, v in last.items()})
        history.append(row)
        if not math.isfinite(row["total"]):
            raise FloatingPointError(f"loss became {row['total']} at iteration {i}: lower the weights or --lr")
        bar.set_postfix(loss=f"{row['total']:.4g}", refresh=False)
        if callback is not None:
            callback(start_iteration + i + 1, x.detach())
    bar.close()
    return x.detach(), history


# --------------------------------------------------------------------------------------------------------------
# Helpers


def resize_to(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of an NCHW tensor to (H, W), antialiased when shrinking."""
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    shrink = size[0] * size[1] < img.shape[-2] * img.shape[-1]
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def _longest_to(img: torch.Tensor, longest: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    s = longest / max(h, w)
    return resize_to(img, (max(1, round(h * s)), max(1, round(w * s))))


def match_colors(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolour ``source`` so its RGB mean and covariance match ``target``'s (Gatys et al. 2017, colour matching).

    Used to preserve the content's colours: the style image is recoloured before its Grams are taken, so the
    optimisation transfers brush strokes but not the palette. Linear map via symmetric matrix square roots.
    """

    def stats(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        px = img.reshape(3, -1).double()
        mu = px.mean(1, keepdim=True)
        cov = (px - mu) @ (px - mu).T / px.shape[1] + 1e-5 * torch.eye(3, dtype=px.dtype)
        return mu, cov

    def sqrtm(m: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(m)
        vals = vals.clamp_min(1e-8).sqrt()
        if inverse:
            vals = 1.0 / vals
        return vecs @ torch.diag(vals) @ vecs.T

    mu_s, cov_s = stats(source[0])
    mu_t, cov_t = stats(target[0])
    a = sqrtm(cov_t) @ sqrtm(cov_s, inverse=True)
    px = source[0].reshape(3, -1).double()
    out = a @ (px - mu_s) + mu_t
    return out.reshape(source.shape).float().clamp(0, 255)


def initial_image(kind: str, content: torch.Tensor, styles: Sequence[torch.Tensor], seed: int) -> torch.Tensor:
    """content: the photo; style: the first style image stretched to the content size; noise: uniform [0, 255]."""
    if kind == "content":
        return content.clone()
    if kind == "style":
        return resize_to(styles[0], tuple(content.shape[-2:]))
    g = torch.Generator().manual_seed(seed)
    return torch.rand(content.shape, generator=g) * 255.0


def _scale_sizes(h: int, w: int, scales: int) -> list[tuple[int, int]]:
    sizes = []
    for k in range(scales - 1, -1, -1):
        f = 2**k
        sizes.append((max(16, round(h / f)), max(16, round(w / f))))
    return sizes


def build_loss(
    config: GatysConfig,
    styles: Sequence[torch.Tensor],
    style_weights: Sequence[float] | None,
    longest: int,
    content: torch.Tensor | None = None,
) -> PerceptualLoss:
    """The perceptual loss for one scale (styles resized to ``style_scale * longest``, recoloured if asked)."""
    style_imgs = [_longest_to(s, max(16, round(config.style_scale * longest))) for s in styles]
    if config.preserve_colors and content is not None:
        style_imgs = [match_colors(s, content) for s in style_imgs]
    return PerceptualLoss(
        style_imgs,
        style_weights=style_weights,
        content_layers=config.content_layers,
        style_layers=config.style_layers,
        content_weight=config.content_weight,
        style_weight=config.style_weight,
        tv_weight=config.tv_weight,
        pooling=config.pooling,
    )


def stylize_image(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: GatysConfig = GatysConfig(),
    *,
    style_weights: Sequence[float] | None = None,
    init: torch.Tensor | None = None,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
    loss: PerceptualLoss | None = None,
    progress: bool | str = True,
    save_every: tuple[int, Path] | None = None,
    distances: bool = True,
) -> GatysResult:
    """Optimise an image with the content of ``content`` and the style of ``styles`` (RGB [0, 255] NCHW).

    ``content`` is used at its given size (resize it first; the CLI does). ``init`` overrides ``config.init``
    (video mode passes the warped previous frame). ``extra_loss(x)`` is added to the objective at the final scale
    (video mode's temporal term). ``loss`` reuses a prebuilt single-scale PerceptualLoss (saves recomputing the
    style Grams for every video frame). With ``config.content_weight == 0`` the result is a pure texture
    (style-only reconstruction); with ``config.style_weight == 0`` a feature inversion of the content.
    """
    config.validate()
    t0 = time.perf_counter()
    content = content.float()
    if content.ndim == 3:
        content = content.unsqueeze(0)
    styles = [s.float() if s.ndim == 4 else s.float().unsqueeze(0) for s in styles]
    h, w = content.shape[-2:]
    sizes = _scale_sizes(h, w, config.scales)
    x = init.float() if init is not None else initial_image(config.init, content, styles, config.seed)
    history: list[dict[str, float]] = []
    final_loss = loss
    for level, size in enumerate(sizes):
        is_final = level == len(sizes) - 1
        c = resize_to(content, size)
        x = resize_to(x, size)
        loss_fn = loss if (is_final and loss is not None) else build_loss(config, styles, style_weights, max(size), c)
        if is_final:
            final_loss = loss_fn
        want_content = config.content_weight > 0
        c_feats = loss_fn.content_features(c) if want_content else None
        extra = extra_loss if is_final else None

        def objective(img: torch.Tensor, loss_fn=loss_fn, c_feats=c_feats, extra=extra) -> dict[str, torch.Tensor]:
            terms = loss_fn(img, content_features=c_feats)
            if extra is not None:
                terms["temporal"] = extra(img)
                terms["total"] = terms["total"] + terms["temporal"]
            return terms

        callback = None
        if save_every is not None and is_final:
            every, folder = save_every

            def callback(i: int, img: torch.Tensor, every=every, folder=folder) -> None:
                if i % every == 0:
                    save_rgb(img.clamp(0, 255), Path(folder) / f"iter_{i:05d}.png")

        label = progress if isinstance(progress, str) else f"{config.optimizer} {size[1]}x{size[0]}"
        x, hist = optimize(
            x, objective, config.iters, config.optimizer, config.lr,
            callback=callback, progress=label if progress else False, start_iteration=len(history),
        )
        for row in hist:
            row["scale"] = float(level)
        history += hist
    image = x.clamp(0, 255)
    result = GatysResult(image=image, history=history, seconds=time.perf_counter() - t0)
    if distances and final_loss is not None:
        result.style_distance = final_loss.style_distance(image)
        result.content_style_distance = final_loss.style_distance(content)
        result.content_distance = final_loss.content_distance(image, content)
    return result


def write_log(history: Sequence[dict[str, float]], path: str | Path) -> None:
    """One CSV row per iteration: iteration, scale, seconds, total, content, style, tv (+ temporal)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for row in history:
            writer.writerow({k: (int(v) if k in ("iteration", "scale") else f"{v:.6g}") for k, v in row.items()})


# --------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.gatys",
        description="Gatys neural style transfer by image optimisation (L-BFGS or Adam) on VGG19 features.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--content", help="content photo (not needed with --style-only)")
    p.add_argument("--style", nargs="+", help="style image(s)")
    p.add_argument("--style-weights", nargs="+", type=float, help="relative weight of each style image")
    p.add_argument("--output", "-o", required=True, help="output image (.png or .jpg)")
    p.add_argument("--size", type=int, default=256, help="longer side of the output in pixels")
    p.add_argument("--iters", type=int, default=200, help="iterations (per scale)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--lr", type=float, default=GatysConfig.lr, help="Adam learning rate in pixel units")
    p.add_argument("--init", choices=("content", "style", "noise"), help="starting image (default: content; "
                   "noise for --content-only/--style-only)")
    p.add_argument("--content-weight", type=float, default=_LOSS.content_weight)
    p.add_argument("--style-weight", type=float, default=_LOSS.style_weight)
    p.add_argument("--tv-weight", type=float, default=_LOSS.tv_weight)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--content-only", action="store_true", help="feature inversion of the content (no style)")
    mode.add_argument("--style-only", action="store_true", help="texture synthesis from the style (no content)")
    p.add_argument("--scales", type=int, default=1, help="coarse-to-fine levels (each halves the size)")
    p.add_argument("--style-scale", type=float, default=1.0, help="style image size relative to the output")
    p.add_argument("--preserve-colors", action="store_true", help="keep the content's colours (style recoloured)")
    p.add_argument("--save-every", nargs=2, metavar=("K", "DIR"), help="save the image every K iterations to DIR")
    p.add_argument("--pooling", choices=("max", "avg"), default=_LOSS.pooling)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--log", help="write per-iteration losses to this CSV file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> GatysConfig:
    init = args.init or ("noise" if (args.content_only or args.style_only) else "content")
    content_weight = 0.0 if args.style_only else args.content_weight
    style_weight = 0.0 if args.content_only else args.style_weight
    return GatysConfig(
        size=args.size, iters=args.iters, optimizer=args.optimizer, init=init, lr=args.lr,
        content_weight=content_weight, style_weight=style_weight, tv_weight=args.tv_weight,
        pooling=args.pooling, scales=args.scales, style_scale=args.style_scale,
        preserve_colors=args.preserve_colors, seed=args.seed,
    )


def run(args: argparse.Namespace) -> GatysResult:
    config = config_from_args(args)
    config.validate()
    if not args.style and not args.content_only:
        raise ConfigError("--style is required (unless --content-only)")
    if not args.content and not args.style_only:
        raise ConfigError("--content is required (unless --style-only)")
    if args.style_weights is not None and len(args.style_weights) != len(args.style or []):
        raise ConfigError(f"--style-weights needs one weight per style image ({len(args.style or [])})")
    save_every = None
    if args.save_every:
        try:
            save_every = (int(args.save_every[0]), Path(args.save_every[1]))
        except ValueError:
            raise ConfigError(f"--save-every K DIR: K must be an integer, got {args.save_every[0]!r}") from None
        if save_every[0] < 1:
            raise ConfigError("--save-every K must be >= 1")
    styles = [load_tensor(s) for s in (args.style or [])]
    if args.content:
        content = load_tensor(args.content, args.size)
    else:  # texture synthesis: a canvas of the first style image's aspect ratio
        content = _longest_to(styles[0], args.size)
    if not styles:  # content-only: the style term is off; any image will do for the (unused) targets
        styles = [content]
    torch.manual_seed(config.seed)
    result = stylize_image(
        content, styles, config, style_weights=args.style_weights, progress=not args.quiet, save_every=save_every
    )
    save_rgb(result.image, args.output)
    if args.log:
        write_log(result.history, args.log)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        result = run(args)
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    h = result.history
    print(f"wrote {args.output} ({result.image.shape[-1]}x{result.image.shape[-2]}) in {result.seconds:.1f} s, "
          f"{len(h)} iterations")
    if h:
        print(f"loss: {h[0]['total']:.4g} -> {h[-1]['total']:.4g}")
    if not args.style_only and not args.content_only:
        print(f"style distance to the style image: output {result.style_distance:.4f}, "
              f"content image {result.content_style_distance:.4f}")
    if not args.style_only:
        print(f"content distance to the content image: {result.content_distance:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
