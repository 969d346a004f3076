"""Measure segment-aware stylization on a clip: is the person kept, the rest stylized, and are mask edges steady?

For each frame (resized to --size) it runs several segmenter configurations on the same frames and reports:

- ``seg_ms``: segmenter time per frame (median / p90), network + stabilisation + edge refinement;
- ``edge_flicker``: mean |mask_t - mask_{t-1}| in a 5-px band around the mask edge (``livestyle.segment.edge_flicker``);
- ``edge_flicker_mc``: the same after warping mask_{t-1} along an independent optical flow (DIS medium on the
  full-size frames), so genuine motion of the person is not counted as flicker;
- for the default configuration, with ``--mask background``: mean abs difference of the composite to the
  original inside the person (mask >= 0.5, eroded 5 px) and outside it (mask < 0.5, eroded 5 px), next to the
  stylized-vs-original difference outside (what full stylization would change), and ``compose_ms``.

The stylizer is a bundled model if ``--model`` names one (``livestyle.stylize.Stylizer``), else a fast proxy (a
strong colour map of the luminance) that changes every pixel a lot, which is what this check needs.

Usage::

    OMP_NUM_THREADS=1 python tools/eval_segment.py \
        --clip /work/shared/data/videos/intel/one-by-one-person-detection.mp4 --json out.json --samples out_dir
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from livestyle.segment import PersonSegmenter, compose, edge_flicker
from livestyle.segment.stabilise import edge_band

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp"}
CONFIGS = {
    "raw": dict(stabilise=False, refine=False),
    "guided": dict(stabilise=False, refine=True),
    "stabilised": dict(stabilise=True, refine=False),
    "stabilised+guided": dict(stabilise=True, refine=True),
    "stabilised+flow": dict(stabilise=True, refine=False, flow=True),
    "stabilised+guided+flow": dict(stabilise=True, refine=True, flow=True),
    "every2+flow": dict(stabilise=True, refine=False, flow=True, every=2),
}
DEFAULT = "stabilised+flow"


def read_frames(clip: str, size: tuple[int, int], max_frames: int, start: int = 0) -> list[np.ndarray]:
    """RGB uint8 frames at ``size`` from a video file or a folder of images (sorted)."""
    p = Path(clip)
    frames: list[np.ndarray] = []
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)[start:start + max_frames]
        bgrs = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files]
    else:
        cap = cv2.VideoCapture(str(p))
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        bgrs = []
        while len(bgrs) < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            bgrs.append(bgr)
        cap.release()
    for bgr in bgrs:
        frames.append(cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
    if not frames:
        raise SystemExit(f"no frames read from {clip}")
    return frames


def proxy_stylize(rgb: np.ndarray) -> np.ndarray:
    """A cheap stand-in for a style model: a strong colour map of the luminance (changes every pixel a lot)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_TWILIGHT_SHIFTED), cv2.COLOR_BGR2RGB)


def make_stylizer(model: str | None):
    if not model:
        return proxy_stylize, "proxy: colour map of the luminance"
    from livestyle.stylize.registry import find_model
    from livestyle.stylize.stylizer import Stylizer

    card = find_model(model)
    return Stylizer(card, device="cpu"), f"model {card.name}"


def eval_flows(frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """Backward flow current->previous at full size (DIS medium): the yardstick for motion-compensated flicker."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    return [None] + [dis.calc(grays[i], grays[i - 1], None) for i in range(1, len(grays))]


def mc_flicker(masks: list[np.ndarray], flows: list[np.ndarray | None], width: int = 5) -> float:
    """Edge flicker after warping each previous mask onto the current frame."""
    h, w = masks[0].shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grid = np.dstack([xs, ys])
    vals = []
    for t in range(1, len(masks)):
        warped = cv2.remap(masks[t - 1], grid + flows[t], None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        band = edge_band(masks[t], width) | edge_band(warped, width)
        if band.any():
            vals.append(float(np.abs(masks[t] - warped)[band].mean()))
    return float(np.mean(vals)) if vals else 0.0


def run_config(frames: list[np.ndarray], opts: dict, model_flows) -> tuple[list[np.ndarray], list[float]]:
    opts = dict(opts)
    use_flow = opts.pop("flow", False)
    seg = PersonSegmenter(**opts)
    seg(frames[0])  # warm-up (session first run), then restart the temporal state
    seg.reset()
    masks, times = [], []
    for i, f in enumerate(frames):
        flow = model_flows[i] if use_flow else None
        t0 = time.perf_counter()
        m = seg(f, flow=flow)
        times.append((time.perf_counter() - t0) * 1e3)
        masks.append(m)
    return masks, times


def pipeline_flows(frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """The flow the pipeline would hand over: ``TemporalBlender.estimate_motion`` (small, current->previous)."""
    from livestyle.temporal import TemporalBlender

    blender = TemporalBlender()
    out = []
    for f in frames:
        motion = blender.estimate_motion(f)
        out.append(None if motion is None else motion.flow)
    return out


def composite_metrics(frames, masks, stylize, samples: Path | None, mode: str = "background") -> dict:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    inside, outside, style_out, comp_ms = [], [], [], []
    for i, (f, m) in enumerate(zip(frames, masks)):
        s = stylize(f)
        t0 = time.perf_counter()
        out = compose(f, s, m, mode)
        comp_ms.append((time.perf_counter() - t0) * 1e3)
        person = cv2.erode((m >= 0.5).astype(np.uint8), k).astype(bool)
        background = cv2.erode((m < 0.5).astype(np.uint8), k).astype(bool)
        d = np.abs(out.astype(np.int16) - f.astype(np.int16)).mean(axis=2)
        ds = np.abs(s.astype(np.int16) - f.astype(np.int16)).mean(axis=2)
        if person.any():
            inside.append(float(d[person].mean()))
        if background.any():
            outside.append(float(d[background].mean()))
            style_out.append(float(ds[background].mean()))
        if samples is not None and i % max(1, len(frames) // 6) == 0:
            samples.mkdir(parents=True, exist_ok=True)
            vis = np.hstack([f, s, out, cv2.cvtColor((m * 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)])
            cv2.imwrite(str(samples / f"frame{i:04d}.png"), cv2.cvtColor(vis, cv2.COLOR_RGB2BGR))
    return {
        "mode": mode,
        "frames_with_person": len(inside),
        "mean_abs_diff_inside_person": round(float(np.mean(inside)), 2) if inside else None,
        "mean_abs_diff_outside_person": round(float(np.mean(outside)), 2) if outside else None,
        "stylized_vs_original_outside": round(float(np.mean(style_out)), 2) if style_out else None,
        "compose_ms_median": round(float(np.median(comp_ms)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="/work/shared/data/videos/intel/one-by-one-person-detection.mp4")
    ap.add_argument("--size", default="640x480", help="frame size WxH the pipeline would see")
    ap.add_argument("--max-frames", type=int, default=300)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--still", type=int, default=0,
                    help="instead of the clip: its --start frame repeated N times with sensor noise (sigma 3), "
                         "so every mask change is flicker")
    ap.add_argument("--model", default=None, help="bundled style model name (default: a colour-map proxy)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--samples", default=None, help="folder for a few side-by-side PNGs")
    args = ap.parse_args(argv)

    cv2.setNumThreads(1)
    w, h = (int(v) for v in args.size.lower().split("x"))
    frames = read_frames(args.clip, (w, h), args.max_frames if not args.still else 1, args.start)
    if args.still:
        rng = np.random.default_rng(0)
        base = frames[0].astype(np.float32)
        frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(args.still)]
    yard = eval_flows(frames)
    model_flows = pipeline_flows(frames)
    stylize, stylizer_desc = make_stylizer(args.model)
    report: dict = {"clip": args.clip, "start": args.start, "still": bool(args.still), "frames": len(frames), "size": [w, h], "stylizer": stylizer_desc,
                    "configs": {}}
    for name in args.configs.split(","):
        masks, times = run_config(frames, CONFIGS[name], model_flows)
        report["configs"][name] = {
            "seg_ms_median": round(float(np.median(times)), 3),
            "seg_ms_p90": round(float(np.percentile(times, 90)), 3),
            "edge_flicker": round(edge_flicker(masks), 4),
            "edge_flicker_mc": round(mc_flicker(masks, yard), 4),
            "person_area": round(float(np.mean([(m >= 0.5).mean() for m in masks])), 4),
        }
        if name == DEFAULT or (DEFAULT not in args.configs and name == args.configs.split(",")[-1]):
            report["composite"] = composite_metrics(
                frames, masks, stylize, Path(args.samples) if args.samples else None)
            report["composite"]["config"] = name
        print(name, json.dumps(report["configs"][name]), flush=True)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
