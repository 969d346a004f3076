"""Why does a model flicker: stronger texture, or strokes that are unstable under small motion? (issue 11.2)

The warping error of a stylized clip grows with the output's texture energy even for a perfectly motion-equivariant
network, because the reference flow is never exact (sub-pixel errors, interpolation) and a flow error costs
``|grad O|^2`` per pixel. So a model with crisper strokes flickers more *at equal stability*. This tool separates
the two, for each model, on a real clip and on held-out photos, run the way the product runs it:

- ``warp_*``: warping error (Lai et al. 2018, 0..1 pixel scale) of the per-frame output, of its bilinear part only
  (the network's own output at the processing size, upsampled without the guide's detail band) and of the blended
  output (``TemporalBlender`` defaults);
- ``texture``: mean squared spatial gradient of the per-frame output (0..1 scale, per pixel and channel);
- ``norm_warp``: ``warp_frame / texture`` divided by the same ratio of the input clip: about 1 means the flicker is
  what any motion-equivariant image with that texture would show; above 1 means extra instability;
- ``shift_dpx``: ``mse(O(shift(x, d)), shift(O(x), d)) / texture`` on photos, for a horizontal shift of d pixels
  of the full-size photo (d = 1 is half a pixel at a lite model's processing scale, d = 2 one pixel);
- ``noise``: ``mse(O(x + n1), O(x + n2)) / texture`` for two draws of Gaussian noise (std 2 grey levels).

    .venv/bin/python -m tools.flicker_probe --models starry_night-lite runs/oldlite/starry_night-lite.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import LivestyleError
from livestyle.stylize.registry import find_model
from livestyle.stylize.stylizer import Stylizer
from livestyle.temporal import TemporalConfig
from livestyle.temporal.metrics import reference_flows, warping_error


def texture(images: list[np.ndarray]) -> float:
    """Mean squared forward difference (x and y averaged), 0..1 pixel scale, over pixels, channels and images."""
    vals = []
    for img in images:
        f = img.astype(np.float32) / 255.0
        vals.append(0.5 * (np.mean((f[:, 1:] - f[:, :-1]) ** 2) + np.mean((f[1:] - f[:-1]) ** 2)))
    return float(np.mean(vals))


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(((a.astype(np.float32) - b.astype(np.float32)) / 255.0) ** 2))


def bilinear_part(st: Stylizer, frame: np.ndarray) -> np.ndarray:
    """The network's output at the processing size, upsampled bilinearly (no guide detail band)."""
    low = st.postprocess(st.infer(st.preprocess(frame)))
    h, w = frame.shape[:2]
    return low if low.shape[:2] == (h, w) else cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)


def probe_clip(st: Stylizer, frames: list[np.ndarray], refs: list, in_ratio: float) -> dict[str, float]:
    from tools.eval_temporal import run

    per = [st(f) for f in frames]
    bil = [bilinear_part(st, f) for f in frames]
    blended, _ = run(frames, st, TemporalConfig())
    tex = texture(per)
    w_frame = warping_error(per, refs)
    return {"warp_frame": w_frame, "warp_bilinear": warping_error(bil, refs),
            "warp_blended": warping_error(blended, refs), "texture": tex, "texture_bilinear": texture(bil),
            "norm_warp": (w_frame / tex) / in_ratio}


def probe_photos(st: Stylizer, photos: list[np.ndarray], width: int, shifts: tuple[int, ...],
                 seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    errs: dict[str, list[float]] = {f"shift_{d}px": [] for d in shifts}
    errs["noise"] = []
    texs = []
    for photo in photos:
        base = photo[:, :width]
        out0 = st(np.ascontiguousarray(base))
        texs.append(texture([out0]))
        for d in shifts:
            outd = st(np.ascontiguousarray(photo[:, d:width + d]))  # the scene moved left by d pixels
            errs[f"shift_{d}px"].append(_mse(out0[:, d:], outd[:, :-d]))
        noisy = [np.clip(base + rng.normal(0, 2.0, base.shape), 0, 255).astype(np.uint8) for _ in range(2)]
        errs["noise"].append(_mse(st(noisy[0]), st(noisy[1])))
    tex = float(np.mean(texs))
    return {"photo_texture": tex, **{k: float(np.mean(v)) / tex for k, v in errs.items()}}


def main(argv: list[str] | None = None) -> int:
    from tools.eval_temporal import load_clip
    from tools.evaluate import photo_paths
    from tools.images import load_rgb
    from tools.splits import HELD_OUT

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, help="model names or card paths")
    p.add_argument("--clip", default="davis/blackswan")
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--photos", type=int, default=6, help="first N held-out photos for the shift/noise test")
    p.add_argument("--shifts", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)

    try:
        cards = [find_model(name) for name in a.models]
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frames = load_clip(a.clip, a.frames, (a.width, a.width * 3 // 4))
    refs = reference_flows(frames)
    in_ratio = warping_error(frames, refs) / texture(frames)
    pad = max(a.shifts)
    photos = []
    for path in photo_paths(HELD_OUT[: a.photos]):
        img = load_rgb(path)  # width + pad wide whatever the orientation, height cropped to a multiple of 4
        h, w = img.shape[:2]
        img = cv2.resize(img, (a.width + pad, round(h * (a.width + pad) / w)), interpolation=cv2.INTER_AREA)
        photos.append(img[: min(img.shape[0], a.width) // 4 * 4])
    rows = []
    for name, card in zip(a.models, cards):
        st = Stylizer(card, device="cpu", threads=1, precision="fp32")
        row = {"model": name, **probe_clip(st, frames, refs, in_ratio), **probe_photos(st, photos, a.width, tuple(a.shifts))}
        rows.append(row)
        print(json.dumps({k: (round(v, 7) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"clip": a.clip, "frames": a.frames, "input_warp_over_texture": in_ratio,
                                      "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
