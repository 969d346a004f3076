"""Gallery of the shipped styles: held-out photos (rows) by styles (columns), written to docs/gallery.jpg.

    .venv/bin/python -m tools.make_gallery                  # docs/gallery.jpg from every style in models/

Two columns per style, its lite and its full model (``--pick`` keeps one per style: the lite model, or the full
one where the evaluation in runs/eval/quality.json measured a lower total loss). Models run through ONNX Runtime
(fp32) on the photo at 512 px (longer side) the way ``livestyle stylize`` runs them (``--path product``: the network
at the card's recommended size, guided upsampling; ``--path native``: the network at the photo's size, as
tools.evaluate scores them); the result is centre-cropped to the cell's aspect and shrunk.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import LivestyleError, ModelError
from livestyle.stylize.card import ModelCard
from livestyle.stylize.registry import list_models

ROOT = Path(__file__).resolve().parents[1]
#: Rows: varied held-out content (parrots close-up, portrait, mountain stream, crowd, lighthouse).
ROW_PHOTOS: tuple[str, ...] = (
    "kodak24/kodim23.png",
    "kodak24/kodim15.png",
    "kodak24/kodim13.png",
    "coco_permissive/val2017_000000005001.jpg",
    "kodak24/kodim19.png",
)


def fit_cell(image: np.ndarray, cell: tuple[int, int]) -> np.ndarray:
    """Centre-crop ``image`` to the aspect of ``cell`` (w, h) and resize to it."""
    cw, ch = cell
    h, w = image.shape[:2]
    if w * ch > h * cw:  # too wide
        nw = max(1, round(h * cw / ch))
        x0 = (w - nw) // 2
        image = image[:, x0:x0 + nw]
    else:
        nh = max(1, round(w * ch / cw))
        y0 = (h - nh) // 2
        image = image[y0:y0 + nh]
    interp = cv2.INTER_AREA if image.shape[1] > cw else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), (cw, ch), interpolation=interp)


def make_grid(rows: Sequence[Sequence[np.ndarray]], cell: tuple[int, int], labels: Sequence[str], *,
              gap: int = 4, header: int = 28, background: int = 255) -> np.ndarray:
    """RGB uint8 grid: a header line of ``labels`` over ``rows`` of images, each fitted to ``cell`` (w, h)."""
    if not rows:
        raise ValueError("make_grid needs at least one row")
    ncol = len(rows[0])
    if any(len(r) != ncol for r in rows) or len(labels) != ncol:
        raise ValueError(f"every row and the labels need {ncol} entries")
    cw, ch = cell
    H = header + len(rows) * ch + (len(rows) + 1) * gap
    W = ncol * cw + (ncol + 1) * gap
    grid = np.full((H, W, 3), background, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.35, min(0.6, header / 45))
    for j, text in enumerate(labels):
        x0 = gap + j * (cw + gap)
        while True:  # shrink long labels to the cell width
            (tw, th), _ = cv2.getTextSize(text, font, scale, 1)
            if tw <= cw - 4 or scale < 0.3:
                break
            scale *= 0.9
        org = (x0 + max(0, (cw - tw) // 2), max(th + 2, (header + th) // 2 + gap // 2))
        cv2.putText(grid, text, org, font, scale, (20, 20, 20), 1, cv2.LINE_AA)
        scale = max(0.35, min(0.6, header / 45))
    for i, row in enumerate(rows):
        y0 = header + gap + i * (ch + gap)
        for j, img in enumerate(row):
            x0 = gap + j * (cw + gap)
            grid[y0:y0 + ch, x0:x0 + cw] = fit_cell(img, cell)
    return grid


def choose_models(cards: Sequence[ModelCard], quality: dict | None) -> list[ModelCard]:
    """One card per style (sorted by style): lite, or full where the evaluation measured a lower total loss."""
    by_style: dict[str, dict[str, ModelCard]] = {}
    for c in cards:
        if c.variant in ("lite", "full"):
            by_style.setdefault(c.style, {})[c.variant] = c
    totals = {r["model"]: r["model_mean"]["total"] for r in (quality or {}).get("results", [])}
    chosen = []
    for style in sorted(by_style):
        v = by_style[style]
        pick = v.get("lite") or v["full"]
        if "full" in v and "lite" in v and v["full"].name in totals and v["lite"].name in totals \
                and totals[v["full"].name] < totals[v["lite"].name]:
            pick = v["full"]
        chosen.append(pick)
    return chosen


def all_models(cards: Sequence[ModelCard]) -> list[ModelCard]:
    """Every lite and full model, by style, lite first."""
    return sorted((c for c in cards if c.variant in ("lite", "full")), key=lambda c: (c.style, c.variant != "lite"))


def build_gallery(photos: Sequence[Path], cards: Sequence[ModelCard], cell: tuple[int, int] = (240, 180),
                  size: int = 512, path: str = "product") -> np.ndarray:
    from livestyle.stylize.stylizer import Stylizer
    from tools.evaluate import load_photo, stylize_native

    rows = []
    for p in photos:
        row = [load_photo(p, size, 1)]
        for card in cards:
            if path == "native":
                row.append(stylize_native(card, load_photo(p, size, card.size_multiple)))
            else:
                row.append(Stylizer(card, device="cpu", threads=1, precision="fp32")(row[0]))
        rows.append(row)
    labels = ["photo"] + [f"{c.title} ({c.variant})" for c in cards]
    return make_grid(rows, cell, labels)


def main(argv: list[str] | None = None) -> int:
    from tools.evaluate import DATA, RUNS

    p = argparse.ArgumentParser(prog="python -m tools.make_gallery", description=__doc__.split("\n\n")[0])
    p.add_argument("--output", "-o", default=str(ROOT / "docs" / "gallery.jpg"))
    p.add_argument("--quality", default=str(RUNS / "quality.json"), help="tools.evaluate results (lite vs full)")
    p.add_argument("--cell", default="200x150", help="cell size WxH")
    p.add_argument("--pick", action="store_true", help="one column per style instead of lite and full")
    p.add_argument("--path", choices=("product", "native"), default="product", help="how the models run")
    p.add_argument("--quality-jpeg", type=int, default=85, help="JPEG quality")
    args = p.parse_args(argv)
    try:
        cw, ch = (int(v) for v in args.cell.lower().split("x"))
        q = Path(args.quality)
        quality = json.loads(q.read_text()) if q.is_file() else None
        cards = choose_models(list_models(), quality) if args.pick else all_models(list_models())
        if not cards:
            raise ModelError("no lite/full style models in models/: train and export some first")
        photos = [DATA / "photos" / r for r in ROW_PHOTOS]
        grid = build_gallery(photos, cards, (cw, ch), path=args.path)
    except (LivestyleError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, args.quality_jpeg,
                                                                    cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    print(f"{out}: {grid.shape[1]}x{grid.shape[0]}, {out.stat().st_size / 1e3:.0f} kB, columns: "
          + ", ".join(c.name for c in cards))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
