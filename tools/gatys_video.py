"""Gatys style transfer for video with temporal constraints (Ruder, Dosovitskiy & Brox 2016).

    python -m tools.gatys_video --input clip.mp4 --style starry.jpg --output out.mp4 --size 256 --iters 100
    python -m tools.gatys_video --input frames/ --style starry.jpg --output stylized/ --passes 4

Each frame is initialised from the previous stylized frame warped by optical flow, and a temporal loss ties it to
the warped earlier outputs, weighted per pixel by the forward-backward certainty mask (``tools.flow_check``): zero
where the flow is inconsistent (disocclusions) or on motion boundaries, so new content is free to be stylized.
Long-term consistency uses several previous frames (offsets J, default 1 2 5), each pixel constrained by the
closest frame that saw it. ``--passes N`` (N > 1) runs the multi-pass algorithm: one independent pass, then passes
alternating direction, each initialised with a certainty-weighted blend of the neighbour's warped result and the
frame's own previous result (delta = 0.5), which removes the drift of single-pass stylization at the start of shots.

Input: a video file (PyAV) or a folder of frames; output: a video file (H.264 via PyAV, by suffix) or a folder of
PNGs keeping the input frame names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from livestyle.errors import ConfigError, LivestyleError, SinkError, SourceError
from livestyle.frames import resize
from tools import flow_check
from tools.gatys import GatysConfig, build_loss, stylize_image
from tools.images import fit_size, list_images, load_rgb, load_tensor, save_rgb, to_image, to_tensor
from tools.losses import temporal_loss

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")


@dataclass(frozen=True)
class VideoConfig:
    """Video-specific settings; the per-frame optimisation settings are a :class:`GatysConfig`.

    ``temporal_weight`` multiplies :func:`tools.losses.temporal_loss` (mean squared pixel difference in [0, 255]
    units): with the default loss weights a frame's perceptual loss is about 1, and a typical unconstrained
    frame-to-frame difference of ~30 grey levels (900 squared) should cost about as much, hence ~1e-3.
    """

    temporal_weight: float = 1e-3
    offsets: tuple[int, ...] = (1, 2, 5)
    flow: str = "dis"
    first_iters: int | None = None  # iterations for the first frame (default 2x iters: it starts from scratch)
    passes: int = 1
    blend_delta: float = 0.5

    def validate(self) -> None:
        if self.temporal_weight < 0:
            raise ConfigError("--temporal-weight must be >= 0")
        if not self.offsets or any(j < 1 for j in self.offsets):
            raise ConfigError(f"--long-term offsets must be positive integers, got {list(self.offsets)}")
        if self.flow not in flow_check.FLOW_METHODS:
            raise ConfigError(f"--flow must be one of {', '.join(flow_check.FLOW_METHODS)}")
        if self.passes < 1:
            raise ConfigError("--passes must be >= 1")
        if not 0 <= self.blend_delta <= 1:
            raise ConfigError("blend delta must be in [0, 1]")


# --------------------------------------------------------------------------------------------------------------
# Input and output


def read_frames(
    source: str | Path, longest: int | None = None, max_frames: int | None = None
) -> tuple[list[str], list[np.ndarray], float]:
    """Frames of a video file or an image folder as (names, RGB uint8 frames, fps), resized to even sizes."""
    source = Path(source)
    names: list[str] = []
    frames: list[np.ndarray] = []
    fps = 24.0
    if source.is_dir():
        paths = list_images(source)
        if not paths:
            raise SourceError(f"no images in {source} (expected .png/.jpg frames)")
        for p in paths[:max_frames]:
            names.append(p.stem + ".png")
            frames.append(load_rgb(p))
    elif source.is_file():
        import av

        try:
            with av.open(str(source)) as container:
                stream = container.streams.video[0]
                if stream.average_rate:
                    fps = float(stream.average_rate)
                for i, frame in enumerate(container.decode(stream)):
                    if max_frames is not None and i >= max_frames:
                        break
                    names.append(f"frame_{i:05d}.png")
                    frames.append(frame.to_ndarray(format="rgb24"))
        except (av.error.FFmpegError, IndexError) as exc:
            raise SourceError(f"cannot read {source} as a video: {exc}") from None
        if not frames:
            raise SourceError(f"{source} has no video frames")
    else:
        raise SourceError(f"input not found: {source} (give a video file or a folder of frames)")
    h, w = frames[0].shape[:2]
    tw, th = fit_size(w, h, longest, multiple=2)
    frames = [resize(f, tw, th) for f in frames]
    return names, frames, fps


def write_frames(output: str | Path, names: Sequence[str], frames: Sequence[np.ndarray], fps: float) -> None:
    """A video file when ``output`` has a video suffix (H.264, yuv420p), otherwise a folder of PNGs."""
    output = Path(output)
    if output.suffix.lower() in VIDEO_SUFFIXES:
        import av

        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            with av.open(str(output), "w") as container:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                stream.height, stream.width = frames[0].shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "18"}
                for img in frames:
                    for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
        except av.error.FFmpegError as exc:
            raise SinkError(f"cannot write {output}: {exc}") from None
    else:
        if output.suffix:
            raise ConfigError(f"output {output} is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a folder")
        for name, img in zip(names, frames):
            save_rgb(img, output / name)


# --------------------------------------------------------------------------------------------------------------
# Stylization


class _FlowCache:
    """Flows and certainty masks between frame pairs, computed once (multi-pass reuses them)."""

    def __init__(self, frames: Sequence[np.ndarray], method: str) -> None:
        self.frames = frames
        self.method = method
        self._flow: dict[tuple[int, int], np.ndarray] = {}
        self._mask: dict[tuple[int, int], np.ndarray] = {}

    def flow(self, i: int, k: int) -> np.ndarray:
        if (i, k) not in self._flow:
            self._flow[(i, k)] = flow_check.estimate_flow(self.frames[i], self.frames[k], self.method)
        return self._flow[(i, k)]

    def certainty(self, i: int, k: int) -> np.ndarray:
        """Certainty over frame i's pixels of frame k warped into frame i."""
        if (i, k) not in self._mask:
            self._mask[(i, k)] = flow_check.certainty(self.flow(i, k), self.flow(k, i))
        return self._mask[(i, k)]


def _temporal_targets(
    i: int, neighbours: Sequence[int], outputs: Sequence[np.ndarray | None], flows: _FlowCache
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(warped output, long-term mask) for each available neighbour of frame i, closest first."""
    ks = [k for k in neighbours if 0 <= k < len(outputs) and outputs[k] is not None]
    if not ks:
        return []
    warped = [flow_check.warp(outputs[k], flows.flow(i, k)) for k in ks]
    masks = flow_check.long_term_masks([flows.certainty(i, k) for k in ks])
    return [(to_tensor(w), torch.from_numpy(m)[None, None]) for w, m in zip(warped, masks)]


def _temporal_term(targets: list[tuple[torch.Tensor, torch.Tensor]], weight: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def term(x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(())
        for warped, mask in targets:
            total = total + temporal_loss(x, warped, mask)
        return weight * total

    return term


def stylize_frames(
    frames: Sequence[np.ndarray],
    styles: Sequence[torch.Tensor],
    config: GatysConfig = GatysConfig(),
    video: VideoConfig = VideoConfig(),
    *,
    style_weights: Sequence[float] | None = None,
    progress: bool = True,
) -> list[np.ndarray]:
    """Stylize a list of same-size RGB uint8 frames with temporal consistency; returns RGB uint8 frames."""
    config.validate()
    video.validate()
    if not frames:
        return []
    h, w = frames[0].shape[:2]
    cfg = replace(config, scales=1)
    first_cfg = replace(cfg, iters=video.first_iters if video.first_iters is not None else 2 * cfg.iters)
    loss_fn = build_loss(cfg, styles, style_weights, max(h, w), to_tensor(frames[0]) if cfg.preserve_colors else None)
    flows = _FlowCache(frames, video.flow)
    n = len(frames)
    outputs: list[np.ndarray | None] = [None] * n
    bar = tqdm(total=n * video.passes, desc="frames", disable=not progress, dynamic_ncols=True)

    def run_frame(i: int, c: GatysConfig, init: torch.Tensor | None, extra) -> np.ndarray:
        res = stylize_image(to_tensor(frames[i]), styles, c, init=init, extra_loss=extra, loss=loss_fn,
                            progress=False, distances=False)
        bar.update(1)
        return to_image(res.image)

    if video.passes == 1:
        for i in range(n):
            if i == 0:
                outputs[i] = run_frame(i, first_cfg, None, None)
                continue
            targets = _temporal_targets(i, [i - j for j in video.offsets], outputs, flows)
            init = targets[0][0]  # previous output warped into this frame (Ruder's "prevWarped" init)
            outputs[i] = run_frame(i, cfg, init, _temporal_term(targets, video.temporal_weight))
    else:
        # Pass 0: every frame on its own; then alternate directions, blending with the neighbour's warped result.
        for i in range(n):
            outputs[i] = run_frame(i, cfg, None, None)
        for p in range(1, video.passes):
            step = 1 if p % 2 == 1 else -1
            order = range(n) if step == 1 else range(n - 1, -1, -1)
            for i in order:
                neighbours = [i - step * j for j in video.offsets]
                targets = _temporal_targets(i, neighbours, outputs, flows)
                own = to_tensor(outputs[i])
                if targets:
                    warped, _ = targets[0]
                    k = neighbours[0]
                    c = torch.from_numpy(flows.certainty(i, k))[None, None] if 0 <= k < n else torch.zeros(1)
                    d = video.blend_delta * c
                    init = d * warped + (1 - d) * own
                    extra = _temporal_term(targets, video.temporal_weight)
                else:
                    init, extra = own, None
                outputs[i] = run_frame(i, cfg, init, extra)
    bar.close()
    return [o for o in outputs if o is not None]


def warping_error(frames: Sequence[np.ndarray], outputs: Sequence[np.ndarray], method: str = "dis") -> float:
    """Mean certainty-weighted absolute difference (grey levels) between each output and the previous one warped.

    A temporal stability figure in the spirit of Lai et al. (2018); lower is steadier.
    """
    errs = []
    for i in range(1, len(outputs)):
        f_ip = flow_check.estimate_flow(frames[i], frames[i - 1], method)
        f_pi = flow_check.estimate_flow(frames[i - 1], frames[i], method)
        c = flow_check.certainty(f_ip, f_pi)[..., None]
        diff = np.abs(outputs[i].astype(np.float32) - flow_check.warp(outputs[i - 1], f_ip).astype(np.float32))
        errs.append(float((c * diff).sum() / max(c.sum() * 3, 1.0)))
    return float(np.mean(errs)) if errs else 0.0


# --------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    d = VideoConfig()
    p = argparse.ArgumentParser(
        prog="python -m tools.gatys_video",
        description="Temporally consistent Gatys style transfer for a video or a folder of frames (Ruder et al.).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--input", "-i", required=True, help="video file or folder of frames")
    p.add_argument("--style", nargs="+", required=True, help="style image(s)")
    p.add_argument("--style-weights", nargs="+", type=float)
    p.add_argument("--output", "-o", required=True, help="video file (.mp4, ...) or folder for PNG frames")
    p.add_argument("--size", type=int, default=256, help="longer side of the processed frames")
    p.add_argument("--iters", type=int, default=100, help="iterations per frame (per pass)")
    p.add_argument("--first-iters", type=int, help="iterations for the first frame (default 2x --iters)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--lr", type=float, default=GatysConfig.lr)
    p.add_argument("--init", choices=("content", "style", "noise"), default="content", help="first frame's init")
    p.add_argument("--content-weight", type=float, default=GatysConfig.content_weight)
    p.add_argument("--style-weight", type=float, default=GatysConfig.style_weight)
    p.add_argument("--tv-weight", type=float, default=GatysConfig.tv_weight)
    p.add_argument("--temporal-weight", type=float, default=d.temporal_weight)
    p.add_argument("--long-term", type=int, nargs="+", default=list(d.offsets), metavar="J",
                   help="previous-frame offsets for the temporal loss (1 = short-term only)")
    p.add_argument("--flow", choices=flow_check.FLOW_METHODS, default=d.flow)
    p.add_argument("--passes", type=int, default=1, help="> 1: multi-pass algorithm")
    p.add_argument("--preserve-colors", action="store_true")
    p.add_argument("--pooling", choices=("max", "avg"), default=GatysConfig.pooling)
    p.add_argument("--max-frames", type=int, help="only the first N frames")
    p.add_argument("--fps", type=float, help="output frame rate (default: the input's, 24 for folders)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = GatysConfig(
            size=args.size, iters=args.iters, optimizer=args.optimizer, lr=args.lr, init=args.init,
            content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
            pooling=args.pooling, preserve_colors=args.preserve_colors, seed=args.seed,
        )
        vcfg = VideoConfig(temporal_weight=args.temporal_weight, offsets=tuple(sorted(set(args.long_term))),
                           flow=args.flow, first_iters=args.first_iters, passes=args.passes)
        cfg.validate()
        vcfg.validate()
        if args.max_frames is not None and args.max_frames < 1:
            raise ConfigError("--max-frames must be >= 1")
        out = Path(args.output)
        if out.suffix and out.suffix.lower() not in VIDEO_SUFFIXES:
            raise ConfigError(f"--output {out}: use a video suffix ({', '.join(VIDEO_SUFFIXES)}) or a folder")
        styles = [load_tensor(s) for s in args.style]
        if args.style_weights is not None and len(args.style_weights) != len(styles):
            raise ConfigError(f"--style-weights needs one weight per style image ({len(styles)})")
        names, frames, fps = read_frames(args.input, args.size, args.max_frames)
        torch.manual_seed(args.seed)
        outputs = stylize_frames(frames, styles, cfg, vcfg, style_weights=args.style_weights,
                                 progress=not args.quiet)
        write_frames(out, names, outputs, args.fps or fps)
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(outputs)} frames ({outputs[0].shape[1]}x{outputs[0].shape[0]}) to {out}")
    if len(outputs) > 1:
        print(f"warping error (mean |out_t - warp(out_t-1)| on certain pixels): "
              f"{warping_error(frames, outputs, vcfg.flow):.2f} grey levels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
