"""Measure temporal stability with and without blending (issue 3 acceptance figures) and per-stage timings.

    .venv/bin/python tools/eval_temporal.py --model starry_night-lite            # real model, default clips
    .venv/bin/python tools/eval_temporal.py --proxy                               # development proxy, no model

For each clip: warping error (Lai et al. 2018), texture detail (mean |Laplacian|) and flicker of the
per-frame output versus the blended output; plus a still scene with sensor noise (flicker must be <= 1.5).
Clips come from ../shared/data/videos (not shipped; this is an evaluation tool).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livestyle.temporal import TemporalBlender, TemporalConfig  # noqa: E402
from livestyle.temporal.metrics import (  # noqa: E402
    chroma_detail, detail, flicker, reference_flows, warping_error,
)

DATA = Path(os.environ.get("LIVESTYLE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CLIPS = ["davis/blackswan", "davis/car-roundabout", "intel/one-by-one-person-detection.mp4"]


def load_clip(spec: str, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """RGB frames of a clip (folder of images or video file under DATA/videos, or synth-still)."""
    w, h = size
    if spec == "synth-still":
        base = cv2.cvtColor(cv2.imread(str(DATA / "photos" / "kodak24" / "kodim23.png")), cv2.COLOR_BGR2RGB) \
            if (DATA / "photos" / "kodak24" / "kodim23.png").exists() else _pattern(w, h)
        base = cv2.resize(base, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        rng = np.random.default_rng(0)
        return [np.clip(base + rng.normal(0, 2.0, base.shape), 0, 255).astype(np.uint8) for _ in range(frames)]
    path = DATA / "videos" / spec
    out = []
    if path.is_dir():
        for f in sorted(glob.glob(str(path / "*.jpg")) + glob.glob(str(path / "*.png")))[:frames]:
            out.append(cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB))
    else:
        cap = cv2.VideoCapture(str(path))
        while len(out) < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
    if not out:
        raise SystemExit(f"no frames in {path}")
    return [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in out]


def _pattern(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = cv2.resize(rng.integers(0, 255, (h // 16, w // 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return img


class ProxyStylizer:
    """Development stand-in for a style network: content-locked strokes plus per-frame instability.

    Posterised colours and amplified high-pass detail move with the content (a conv net is translation
    equivariant); the input's sensor noise is amplified 3x and a faint per-frame texture is added, which is
    how real feed-forward style networks flicker. Not a style model: figures from it are for development.
    """

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        f = rgb.astype(np.float32)
        base = cv2.GaussianBlur(f, (0, 0), 2.0)
        poster = np.round(base / 48.0) * 48.0
        high = f - cv2.GaussianBlur(f, (0, 0), 1.5)
        noise = cv2.GaussianBlur(self.rng.normal(0, 1, f.shape[:2]).astype(np.float32), (0, 0), 1.0) * 8.0
        out = 0.5 * poster + 0.5 * base + 3.0 * high + noise[..., None]
        return np.clip(out, 0, 255).astype(np.uint8)


def run(frames: list[np.ndarray], stylize, cfg: TemporalConfig | None):
    blender = TemporalBlender(cfg) if cfg is not None else None
    outs, t_flow, t_blend, t_style = [], [], [], []
    for f in frames:
        t0 = time.perf_counter()
        s = stylize(f)
        t1 = time.perf_counter()
        t_style.append(t1 - t0)
        if blender is not None:
            m = blender.estimate_motion(f)
            t2 = time.perf_counter()
            o = blender.blend(s, m)
            t3 = time.perf_counter()
            t_flow.append(t2 - t1)
            t_blend.append(t3 - t2)
        else:
            o = s
        outs.append(o)
    ms = lambda xs: 1000 * float(np.median(xs)) if xs else 0.0  # noqa: E731
    return outs, {"stylize_ms": ms(t_style), "flow_ms": ms(t_flow), "blend_ms": ms(t_blend)}


def evaluate(clip: str, frames: list[np.ndarray], stylize_factory, cfg: TemporalConfig) -> dict:
    refs = reference_flows(frames)
    per, _ = run(frames, stylize_factory(), None)
    bl, times = run(frames, stylize_factory(), cfg)
    skip = 1  # the first blended frame has no past; measure the steady state
    res = {
        "clip": clip, "frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "warp_err_per_frame": warping_error(per[skip:], refs[skip:]),
        "warp_err_blended": warping_error(bl[skip:], refs[skip:]),
        "detail_per_frame": float(np.mean([detail(o) for o in per[skip:]])),
        "detail_blended": float(np.mean([detail(o) for o in bl[skip:]])),
        "chroma_detail_per_frame": float(np.mean([chroma_detail(o) for o in per[skip:]])),
        "chroma_detail_blended": float(np.mean([chroma_detail(o) for o in bl[skip:]])),
        "flicker_per_frame": flicker(per[skip:]), "flicker_blended": flicker(bl[skip:]),
        **times,
    }
    res["warp_ratio"] = res["warp_err_blended"] / max(res["warp_err_per_frame"], 1e-12)
    res["detail_ratio"] = res["detail_blended"] / max(res["detail_per_frame"], 1e-12)
    return res


def _ms(fn, n: int = 20) -> float:
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))


def stage_times(card, frames: list[np.ndarray], threads: int | None, n: int = 20) -> list[dict]:
    """Median ms per stage on the CPU: preprocess, inference at 320x240 and 640x480, postprocess, flow, blend."""
    from livestyle.stylize import Stylizer
    from livestyle.stylize.upsample import upsample

    rows = []
    f = frames[len(frames) // 2]
    for psize in [(320, 240), (640, 480)]:
        s = Stylizer(card, device="cpu", size=psize, threads=threads)
        x = s.preprocess(f)
        y = s.infer(x)
        low = s.postprocess(y)
        row = {"model": card.name, "threads": s.session.get_session_options().intra_op_num_threads,
               "net_size": f"{psize[0]}x{psize[1]}", "preprocess_ms": _ms(lambda: s.preprocess(f), n),
               "inference_ms": _ms(lambda: s.infer(x), n), "to_uint8_ms": _ms(lambda: s.postprocess(y), n)}
        if psize != (640, 480):
            row["upsample_bilinear_ms"] = _ms(lambda: upsample(low, (640, 480), method="bilinear"), n)
            row["upsample_guided_ms"] = _ms(lambda: upsample(low, (640, 480), guide=f, method="guided"), n)
        rows.append(row)
    from livestyle.temporal.flow import small_gray

    cfg = TemporalConfig()
    blender = TemporalBlender(cfg)
    prev_small = small_gray(frames[0], cfg.flow_width)

    def flow_once():
        blender._prev_gray = prev_small  # time one pair: previous small grey frame -> current frame
        return blender.estimate_motion(frames[1])

    m = flow_once()

    def blend_once():
        blender._prev_output = frames[0]
        return blender.blend(frames[1], m)

    t_flow, t_blend = _ms(flow_once, n), _ms(blend_once, n)
    rows.append({"flow_ms (DIS ultrafast @192w + fb check)": t_flow, "blend_ms (cubic remap + blendLinear)": t_blend})
    return rows


def upsample_quality(card, frames: list[np.ndarray], low: tuple[int, int], threads: int | None) -> list[dict]:
    """Network at ``low`` then bilinear/guided upsampling, versus the network run at full frame size."""
    from livestyle.stylize import Stylizer

    H, W = frames[0].shape[:2]
    full = Stylizer(card, device="cpu", size=(W, H), threads=threads)
    rows = []
    refs = [full(f) for f in frames]
    for method in ("bilinear", "bicubic", "guided"):
        s = Stylizer(card, device="cpu", size=low, threads=threads, upsample=method)
        outs = [s(f) for f in frames]
        ys = [s.infer(s.preprocess(f)) for f in frames[:1]]
        t = _ms(lambda: s.postprocess(ys[0], like=frames[0]), 10)
        rows.append({"method": method, "net_size": f"{low[0]}x{low[1]}",
                     "mae_vs_full_res": float(np.mean([np.abs(o.astype(np.float32) - r).mean()
                                                       for o, r in zip(outs, refs)])),
                     "detail": float(np.mean([detail(o) for o in outs])),
                     "detail_full_res": float(np.mean([detail(r) for r in refs])),
                     "postprocess_ms": t})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model name or card path (default: the proxy stylizer)")
    ap.add_argument("--proxy", action="store_true", help="use the development proxy stylizer")
    ap.add_argument("--clips", nargs="*", default=CLIPS + ["synth-still"])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--model-size", default=None, help="network processing size WxH (default: card's)")
    ap.add_argument("--upsample", default="guided")
    ap.add_argument("--strength", type=float, default=TemporalConfig.strength, help="blend strength (default: the blender's)")
    ap.add_argument("--interp", default=TemporalConfig.interpolation)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--backend", default="onnxruntime", choices=["onnxruntime", "openvino"],
                    help="runtime for --model's network (default onnxruntime; openvino = the CPU default of livestyle)")
    ap.add_argument("--no-keep-detail", action="store_true", help="blend without detail restoration")
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--stages", action="store_true", help="per-stage CPU timings for --model (and exit)")
    ap.add_argument("--upsample-compare", action="store_true",
                    help="bilinear vs guided upsampling against the full-resolution network (and exit)")
    args = ap.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    cfg = TemporalConfig(strength=args.strength, interpolation=args.interp, keep_detail=not args.no_keep_detail)

    if (args.stages or args.upsample_compare) and args.model:
        from livestyle.stylize import find_model

        card = find_model(args.model)
        frames = load_clip(args.clips[0], min(args.frames, 8), size)
        rows = stage_times(card, frames, args.threads) if args.stages else \
            upsample_quality(card, frames, (size[0] // 2, size[1] // 2), args.threads)
        for r in rows:
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    if args.model and not args.proxy:
        from livestyle.stylize import find_model
        from livestyle.stylize.backends import open_stylizer

        card = find_model(args.model)
        msize = tuple(int(v) for v in args.model_size.split("x")) if args.model_size else None
        stylizer = open_stylizer(card, backend=args.backend, device="cpu", size=msize, threads=args.threads,
                                 upsample=args.upsample)
        factory = lambda: stylizer  # noqa: E731 - a feed-forward network has no state
        label = f"{card.name} ({stylizer.processing_size(*size)} -> {args.upsample}, {stylizer.provider})"
    else:
        factory = ProxyStylizer
        label = "proxy stylizer (development only)"
    print(f"stylizer: {label}; blending: {cfg}")
    results = []
    for clip in args.clips:
        frames = load_clip(clip, args.frames, size)
        r = evaluate(clip, frames, factory, cfg)
        r["stylizer"] = label
        results.append(r)
        print(f"{clip:42s} warp {r['warp_err_per_frame']*1e3:7.3f} -> {r['warp_err_blended']*1e3:7.3f} e-3 "
              f"(x{r['warp_ratio']:.3f})  detail {r['detail_per_frame']:6.2f} -> {r['detail_blended']:6.2f} "
              f"(x{r['detail_ratio']:.3f})  colour detail {r['chroma_detail_per_frame']:5.2f} -> "
              f"{r['chroma_detail_blended']:5.2f}  flicker {r['flicker_per_frame']:5.2f} -> "
              f"{r['flicker_blended']:5.2f}  flow {r['flow_ms']:.1f} ms blend {r['blend_ms']:.1f} ms", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
