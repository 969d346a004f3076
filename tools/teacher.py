"""Teacher targets: Gatys-stylize a folder of training photos, cached on disk and resumable.

    python -m tools.teacher --style starry.jpg --data photos/ --out teacher/starry --size 256 --iters 200

Each result is stored as ``OUT/<key>.png`` where ``key`` is the sha256 of the photo's bytes, the style images'
bytes and the optimisation settings, so a rerun skips finished photos, an interrupted run resumes, and changing
any setting (or a style image) produces new targets instead of silently reusing stale ones. ``OUT/manifest.jsonl``
maps each source photo to its target (one JSON object per line, appended as results are written); the feed-forward
trainer's distillation loss reads targets through :func:`load_manifest` or :func:`target_path`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from livestyle.errors import ConfigError, LivestyleError, SourceError
from tools.gatys import GatysConfig, build_loss, stylize_image
from tools.images import IMAGE_SUFFIXES, load_tensor, save_rgb
from tools.splits import is_held_out

MANIFEST = "manifest.jsonl"


def settings_dict(config: GatysConfig, style_weights: Sequence[float] | None) -> dict:
    """The settings that change a target (all of GatysConfig, plus the style weights)."""
    d = dataclasses.asdict(config)
    d["style_weights"] = list(style_weights) if style_weights is not None else None
    return d


def cache_key(content_bytes: bytes, style_bytes: Sequence[bytes], settings: dict) -> str:
    """sha256 over the content bytes, each style's bytes and the JSON settings (length-prefixed, unambiguous)."""
    h = hashlib.sha256()
    for part in [content_bytes, *style_bytes, json.dumps(settings, sort_keys=True).encode()]:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def target_path(out_dir: str | Path, photo: str | Path, styles: Sequence[str | Path], config: GatysConfig,
                style_weights: Sequence[float] | None = None) -> Path:
    """Where the teacher target for ``photo`` lives (whether or not it exists yet)."""
    key = cache_key(Path(photo).read_bytes(), [Path(s).read_bytes() for s in styles],
                    settings_dict(config, style_weights))
    return Path(out_dir) / f"{key}.png"


def load_manifest(out_dir: str | Path) -> dict[str, Path]:
    """{source photo path (as given to the teacher): target PNG path} for every finished target."""
    out_dir = Path(out_dir)
    result: dict[str, Path] = {}
    path = out_dir / MANIFEST
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                target = out_dir / row["target"]
                if target.is_file():
                    result[row["source"]] = target
    return result


def find_photos(data: str | Path, recursive: bool = False) -> list[Path]:
    data = Path(data)
    if not data.is_dir():
        raise SourceError(f"--data {data} is not a folder of photos")
    it = data.rglob("*") if recursive else data.iterdir()
    photos = sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise SourceError(f"no images (.png/.jpg) in {data}")
    return photos


def _atomic_save(image: torch.Tensor, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        save_rgb(image, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_targets(
    photos: Sequence[Path],
    styles: Sequence[Path],
    out_dir: str | Path,
    config: GatysConfig = GatysConfig(),
    style_weights: Sequence[float] | None = None,
    progress: bool = True,
) -> tuple[int, int]:
    """Stylize every photo not yet cached; returns (newly made, already cached)."""
    config.validate()
    if config.size is None:
        raise ConfigError("teacher targets need a fixed --size")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    style_bytes = [Path(s).read_bytes() for s in styles]
    style_imgs = [load_tensor(s) for s in styles]
    settings = settings_dict(config, style_weights)
    # Every photo is resized to the same longer side, so one set of style Grams serves all (single-scale).
    shared = None
    if config.scales == 1 and not config.preserve_colors:
        shared = build_loss(config, style_imgs, style_weights, config.size)
    made = cached = 0
    bar = tqdm(photos, desc="teacher", disable=not progress, dynamic_ncols=True)
    with (out_dir / MANIFEST).open("a") as manifest:
        for photo in bar:
            key = cache_key(Path(photo).read_bytes(), style_bytes, settings)
            target = out_dir / f"{key}.png"
            if target.is_file():
                cached += 1
                bar.set_postfix(made=made, cached=cached, refresh=False)
                continue
            try:
                content = load_tensor(photo, config.size)
            except SourceError as exc:  # one bad photo should not stop a long batch
                tqdm.write(f"skipped: {exc}", file=sys.stderr)
                continue
            torch.manual_seed(config.seed)
            res = stylize_image(content, style_imgs, config, style_weights=style_weights, loss=shared,
                                progress=False, distances=False)
            _atomic_save(res.image, target)
            manifest.write(json.dumps({"source": str(photo), "target": target.name,
                                       "size": [int(res.image.shape[-1]), int(res.image.shape[-2])],
                                       "final_loss": res.history[-1]["total"] if res.history else None}) + "\n")
            manifest.flush()
            made += 1
            bar.set_postfix(made=made, cached=cached, refresh=False)
    bar.close()
    return made, cached


def make_model_targets(photos: Sequence[Path], model: str | Path, out_dir: str | Path, short_side: int = 410,
                       threads: int = 2, progress: bool = True) -> tuple[int, int]:
    """Stylize every photo not yet cached with a bundled feed-forward model (a ``full`` one, to distil a lite
    net from it): seconds per photo instead of the Gatys optimiser's minutes. Photos are resized to
    ``short_side`` first (the trainer keeps 1.6 x its crop size: 410 for 256 px crops), so the teacher paints at
    the scale the student's crops are taken from. Returns (newly made, already cached)."""
    import cv2

    from livestyle.stylize.registry import find_model
    from livestyle.stylize.stylizer import Stylizer
    from tools.images import load_rgb

    card = find_model(model)
    card.verify("fp32")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {"model": card.name, "sha256_fp32": card.sha256.get("fp32"), "short_side": int(short_side)}
    m = max(card.size_multiple, 1)
    made = cached = 0
    bar = tqdm(photos, desc=f"teacher {card.name}", disable=not progress, dynamic_ncols=True)
    with (out_dir / MANIFEST).open("a") as manifest:
        for photo in bar:
            target = out_dir / f"{cache_key(Path(photo).read_bytes(), [], settings)}.png"
            if target.is_file():
                cached += 1
                continue
            try:
                img = load_rgb(photo)
            except SourceError as exc:
                tqdm.write(f"skipped: {exc}", file=sys.stderr)
                continue
            h, w = img.shape[:2]
            s = short_side / min(h, w)
            nw, nh = max(m, round(w * s / m) * m), max(m, round(h * s / m) * m)
            img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            out = Stylizer(card, device="cpu", size=(nw, nh), threads=threads, precision="fp32")(img)
            _atomic_save(torch.from_numpy(out).permute(2, 0, 1).float(), target)
            manifest.write(json.dumps({"source": str(photo), "target": target.name, "size": [nw, nh],
                                       "model": card.name}) + "\n")
            manifest.flush()
            made += 1
    bar.close()
    return made, cached


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.teacher", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--style", nargs="+", help="style image(s): Gatys-optimised targets")
    src.add_argument("--model", help="a bundled model (e.g. starry_night-full) or its card: feed-forward targets, "
                                     "to distil a lite net from a full one (--size is then the shorter side)")
    p.add_argument("--style-weights", nargs="+", type=float)
    p.add_argument("--data", required=True, help="folder of training photos")
    p.add_argument("--recursive", action="store_true", help="also look in sub-folders")
    p.add_argument("--out", required=True, help="cache folder for the targets")
    p.add_argument("--size", type=int, default=None,
                   help="Gatys: the longer side (default 256); --model: the shorter side (default 410, what the "
                        "trainer keeps for 256 px crops)")
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--content-weight", type=float, default=GatysConfig.content_weight)
    p.add_argument("--style-weight", type=float, default=GatysConfig.style_weight)
    p.add_argument("--tv-weight", type=float, default=GatysConfig.tv_weight)
    p.add_argument("--pooling", choices=("max", "avg"), default=GatysConfig.pooling)
    p.add_argument("--limit", type=int, help="only the first N photos (sorted by path)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        if args.model:
            photos = [p for p in find_photos(args.data, args.recursive) if not is_held_out(p)][: args.limit]
            made, cached = make_model_targets(photos, args.model, args.out, args.size or 410, args.threads,
                                              progress=not args.quiet)
            print(f"{made} targets made, {cached} already cached, in {args.out}")
            return 0
        cfg = GatysConfig(size=args.size or 256, iters=args.iters, optimizer=args.optimizer,
                          content_weight=args.content_weight, style_weight=args.style_weight,
                          tv_weight=args.tv_weight, pooling=args.pooling)
        cfg.validate()
        styles = [Path(s) for s in args.style]
        for s in styles:
            load_tensor(s)  # fail early, with the user-facing message, on a bad style image
        if args.style_weights is not None and len(args.style_weights) != len(styles):
            raise ConfigError(f"--style-weights needs one weight per style image ({len(styles)})")
        photos = find_photos(args.data, args.recursive)[: args.limit]
        made, cached = make_targets(photos, styles, args.out, cfg, args.style_weights, progress=not args.quiet)
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{made} targets made, {cached} already cached, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
