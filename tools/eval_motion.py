"""Temporal blending under large motion (issue 14): synthetic scenes with exact flow, and fast real clips.

    .venv/bin/python tools/eval_motion.py --model starry_night-lite --json docs/temporal_motion.json
    .venv/bin/python tools/eval_motion.py --proxy --speeds 40 --real          # quick development run

Synthetic scenes (``synth-fast-<speed>``): a mosaic of held-out photos seen by a camera moving on a circle at
``speed`` px per frame (chord length) with a slow zoom, and two textured ellipses moving at the same speed on
counter-rotating circles and spinning 2 degrees a frame, so they occlude and disocclude the background. Frames are
rendered with motion blur (sub-frames over a quarter-frame shutter) and Gaussian sensor noise (sigma 2).
The exact backward flow (t+1 -> t) and the exact visibility mask come from the layers' affine maps, so the warping
error of Lai et al. (2018) is scored with ground truth. Real clips are scored with a reference flow from DIS
"medium" at full frame size; ``car-roundabout/3`` is every third frame of the clip (3x faster motion).

Per clip: warping error per-frame and blended (and their ratio; target <= 0.5 at 20-80 px/frame), detail ratio
(>= 0.9), flicker, and diagnostics of where the gain goes: the end-point error of the blender's own flow against
the truth (synthetic) or the reference, the mean confidence on visible and on occluded pixels, scene cuts, and a
ghost measure (mean |blended - per-frame| on the pixels that just became visible: the past must not leak there)
and a lag measure (global shift, by phase correlation, from the fresh stylized frame to the blended one: a blend
that trails the motion shows a shift; 0 is right).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livestyle.errors import ConfigError  # noqa: E402
from livestyle.temporal import TemporalBlender, TemporalConfig  # noqa: E402
from livestyle.temporal.flow import upscale_flow  # noqa: E402
from livestyle.temporal.metrics import detail, flicker, reference_flows, warping_error  # noqa: E402
from tools.eval_temporal import DATA, ProxyStylizer, load_clip  # noqa: E402

SPEEDS = (20, 40, 80)
REAL = ("sintel_raft_demo", "davis/car-roundabout", "davis/car-roundabout/3", "davis/blackswan/4")
PHOTOS = ("kodim03.png", "kodim07.png", "kodim13.png", "kodim15.png", "kodim19.png", "kodim23.png")


@dataclass
class Clip:
    """Frames plus, per consecutive pair, the backward flow t+1 -> t and the visibility mask (1 = seen at t)."""

    name: str
    frames: list[np.ndarray]
    flows: list[tuple[np.ndarray, np.ndarray]]
    exact: bool  # True: ground truth; False: reference flow from DIS medium


# --------------------------------------------------------------------------------------------- synthetic scenes

def _photo(name: str) -> np.ndarray:
    path = DATA / "photos" / "kodak24" / name
    img = cv2.imread(str(path)) if path.is_file() else None
    if img is None:  # no data folder: a smooth random texture, the same in every process (crc32, not hash())
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        small = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
        return cv2.resize(small, (768, 512), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _affine(tx: float, ty: float, angle: float = 0.0, scale: float = 1.0, cx: float = 0.0,
            cy: float = 0.0) -> np.ndarray:
    """3x3 map from frame coordinates to texture coordinates: texture = S R (x - c) + c + t."""
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return np.array([[c, -s, cx - c * cx + s * cy + tx], [s, c, cy - s * cx - c * cy + ty], [0, 0, 1]], np.float64)


class SynthScene:
    """A background panned on a circle plus two spinning textured ellipses on counter-rotating circles."""

    def __init__(self, speed: float, size: tuple[int, int] = (1024, 436), seed: int = 0, step: float = 0.3,
                 path: str = "circle") -> None:
        if path not in ("circle", "wave"):
            raise ValueError(f"unknown path {path!r}: use circle or wave")
        self.W, self.H = size
        self.path = path
        self.speed, self.step = float(speed), step
        self.radius = speed / (2 * math.sin(step / 2))  # chord of one frame's arc = speed
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(PHOTOS))
        m = int(math.ceil(self.radius * 1.15)) + 16
        cw, ch = self.W + 2 * m, self.H + 2 * m
        tiles = [_photo(PHOTOS[i]) for i in order[:4]]
        top = np.hstack([cv2.resize(t, (cw // 2, ch // 2), interpolation=cv2.INTER_AREA) for t in tiles[:2]])
        bot = np.hstack([cv2.resize(t, (cw // 2, ch // 2), interpolation=cv2.INTER_AREA) for t in tiles[2:4]])
        self.bg = np.ascontiguousarray(np.vstack([top, bot]))
        self.margin = m
        self.phase = rng.uniform(0, 2 * math.pi, 3)
        self.sprites = []
        for k, i in enumerate(order[4:6]):
            tex = _photo(PHOTOS[i])
            a, b = int(self.H * (0.28 + 0.06 * k)), int(self.H * (0.2 + 0.05 * k))
            size_t = (2 * a + 8, 2 * b + 8)
            tex = cv2.resize(tex, size_t, interpolation=cv2.INTER_AREA)
            alpha = np.zeros(size_t[::-1], np.float32)
            cv2.ellipse(alpha, (a + 4, b + 4), (a, b), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
            self.sprites.append((tex, alpha))

    def _maps(self, t: float) -> list[np.ndarray]:
        """Frame -> texture maps of the background and the sprites at (continuous) time ``t``."""
        r, w, m = self.radius, self.step, self.margin
        p = self.phase
        if self.path == "wave":
            return self._wave_maps(t)
        zoom = 1.0 + 0.04 * math.sin(0.1 * t)
        bg = _affine(m + r * math.cos(w * t + p[0]), m + r * math.sin(w * t + p[0]), 0.0, zoom,
                     self.W / 2, self.H / 2)
        maps = [bg]
        for k, (tex, _) in enumerate(self.sprites):
            th, tw = tex.shape[:2]
            rr = min(r, 0.2 * self.W)  # sprites stay mostly on screen: a smaller circle at the same speed
            ww = 2 * math.asin(min(1.0, self.speed / (2 * rr)))
            sgn = -1 if k == 0 else 1
            cx = self.W * (0.33 + 0.34 * k) + rr * math.cos(sgn * ww * t + p[1 + k])
            cy = self.H * 0.5 + rr * math.sin(sgn * ww * t + p[1 + k])
            ang = math.radians(2.0) * t * sgn
            # texture = R(ang) (x - centre) + texture centre
            c, s = math.cos(ang), math.sin(ang)
            maps.append(np.array([[c, -s, tw / 2 - c * cx + s * cy], [s, c, th / 2 - s * cx - c * cy], [0, 0, 1]]))
        return maps

    def _wave_maps(self, t: float) -> list[np.ndarray]:
        """``path="wave"``: the camera pans left and right (a sinusoid whose peak speed is ``speed``, step 0.5
        rad per frame) and the ellipses sway against it: the motion reverses every ~6 frames, like a waving hand."""
        m, step = self.margin, 0.5
        amp = min(self.speed / step, m - 8)
        maps = [_affine(m + amp * math.sin(step * t), m, 0.0, 1.0, self.W / 2, self.H / 2)]
        for k, (tex, _) in enumerate(self.sprites):
            th, tw = tex.shape[:2]
            cx = self.W * (0.33 + 0.34 * k) - min(self.speed / step, 0.25 * self.W) * math.sin(step * t + k)
            cy = self.H * 0.5
            maps.append(np.array([[1.0, 0.0, tw / 2 - cx], [0.0, 1.0, th / 2 - cy], [0, 0, 1]]))
        return maps

    def _render(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Image (float32) and top-layer id map at time ``t`` (no blur, no noise)."""
        maps = self._maps(t)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        img = cv2.warpAffine(self.bg, maps[0][:2], (self.W, self.H), flags=flags,
                             borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        ids = np.zeros((self.H, self.W), np.uint8)
        for k, ((tex, alpha), mp) in enumerate(zip(self.sprites, maps[1:]), start=1):
            col = cv2.warpAffine(tex, mp[:2], (self.W, self.H), flags=flags).astype(np.float32)
            a = cv2.warpAffine(alpha, mp[:2], (self.W, self.H), flags=flags)[..., None]
            img = img * (1 - a) + col * a
            ids[a[..., 0] > 0.5] = k
        return img, ids

    def frames(self, n: int, shutter: float = 0.25, noise: float = 2.0, seed: int = 0) -> Clip:
        """``n`` frames with motion blur over ``shutter`` (fraction of a frame) and sensor noise ``noise``."""
        rng = np.random.default_rng(seed)
        subs_n = max(1, int(math.ceil(self.speed * shutter / 1.5)) + 1)  # sub-frames <= 1.5 px apart: no strobing
        out = []
        for t in range(n):
            offsets = np.linspace(-shutter / 2, shutter / 2, subs_n) if subs_n > 1 else [0.0]
            subs = [self._render(t + u)[0] for u in offsets]
            img = np.mean(subs, axis=0) + rng.normal(0, noise, (self.H, self.W, 3))
            out.append(np.clip(img, 0, 255).astype(np.uint8))
        flows = [self.truth(t) for t in range(n - 1)]
        name = f"synth-fast-{int(self.speed)}" if self.path == "circle" else f"synth-wave-{int(self.speed)}"
        return Clip(name, out, flows, exact=True)

    def truth(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact backward flow frame t+1 -> t and visibility mask (1: the point was visible at t, away from edges)."""
        m0, m1 = self._maps(t), self._maps(t + 1)
        _, ids0 = self._render(t)
        _, ids1 = self._render(t + 1)
        xs, ys = np.meshgrid(np.arange(self.W, dtype=np.float64), np.arange(self.H, dtype=np.float64))
        pts = np.stack([xs, ys, np.ones_like(xs)], -1)
        flow = np.zeros((self.H, self.W, 2), np.float32)
        for k in range(len(m0)):
            a = np.linalg.inv(m0[k]) @ m1[k]  # x at t+1 -> x' at t
            src = pts @ a.T
            sel = ids1 == k
            flow[sel, 0] = (src[..., 0] - xs)[sel]
            flow[sel, 1] = (src[..., 1] - ys)[sel]
        sx, sy = xs + flow[..., 0], ys + flow[..., 1]
        inside = (sx >= 0) & (sx <= self.W - 1) & (sy >= 0) & (sy <= self.H - 1)
        prev_id = cv2.remap(ids0, sx.astype(np.float32), sy.astype(np.float32), cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_REPLICATE)
        vis = inside & (prev_id == ids1)
        edge = cv2.dilate(cv2.Canny(ids1 * 60, 1, 1), np.ones((5, 5), np.uint8)) > 0  # layer edges: mixed pixels
        return flow, (vis & ~edge).astype(np.float32)


# --------------------------------------------------------------------------------------------------- real clips

def real_clip(spec: str, frames: int, size: tuple[int, int] | None) -> Clip:
    """A clip from DATA/videos (``name/N``: every Nth frame), native size unless ``size``; reference flow."""
    name, stride = spec, 1
    if spec.rsplit("/", 1)[-1].isdigit():
        name, stride = spec.rsplit("/", 1)[0], int(spec.rsplit("/", 1)[1])
    if size is None:
        path = DATA / "videos" / name
        files = sorted(path.glob("*.png")) + sorted(path.glob("*.jpg")) if path.is_dir() else []
        probe = cv2.imread(str(files[0])) if files else None
        w, h = (probe.shape[1], probe.shape[0]) if probe is not None else (640, 480)
    else:
        w, h = size
    fr = load_clip(name, frames * stride, (w, h))[::stride][:frames]
    refs = reference_flows(fr, width=w)
    return Clip(spec, fr, refs, exact=False)


# ---------------------------------------------------------------------------------------------------- evaluation

def oracle_ratios(clip: Clip, stylize, cfg: TemporalConfig) -> dict:
    """Where the gain goes (synthetic clips): the blended/per-frame ratio when the blender's flow, its confidence
    or both are replaced by the truth. ``true_flow``: exact flow, the blender's own confidence; ``true_mask``: the
    blender's flow, the exact visibility as confidence; ``both``: exact flow and visibility."""
    from livestyle.temporal import Motion

    stylized = [stylize(f) for f in clip.frames]
    per = warping_error(stylized[1:], clip.flows[1:])
    out = {}
    for mode in ("blender", "true_flow", "true_mask", "both"):
        blender = TemporalBlender(cfg)
        outs = []
        for t, (f, s) in enumerate(zip(clip.frames, stylized)):
            m = blender.estimate_motion(f)
            if m is not None and mode != "blender":
                h, w = m.flow.shape[:2]
                gt, vis = clip.flows[t - 1]
                flow = m.flow
                if mode in ("true_flow", "both"):
                    flow = cv2.resize(gt, (w, h), interpolation=cv2.INTER_AREA) * np.float32(w / gt.shape[1])
                conf = m.confidence
                if mode in ("true_mask", "both"):
                    conf = (cv2.resize(vis, (w, h), interpolation=cv2.INTER_AREA) > 0.99).astype(np.float32)
                m = Motion(flow=flow, confidence=conf, frame_size=m.frame_size, still=False)
            outs.append(blender.blend(s, m))
        out[mode] = warping_error(outs[1:], clip.flows[1:]) / max(per, 1e-12)
    return out


def run_clip(clip: Clip, stylize, cfg: TemporalConfig) -> dict:
    """Per-frame versus blended on one clip, with the diagnostics described in the module docstring."""
    stylized = [stylize(f) for f in clip.frames]
    blender = TemporalBlender(cfg)
    outs, epe, bad, conf_vis, conf_occ, flow_ms = [], [], [], [], [], []
    for t, (f, s) in enumerate(zip(clip.frames, stylized)):
        t0 = time.perf_counter()
        m = blender.estimate_motion(f)
        flow_ms.append(1000 * (time.perf_counter() - t0))
        outs.append(blender.blend(s, m))
        if m is not None and t > 0:
            H, W = f.shape[:2]
            gt, vis = clip.flows[t - 1]
            est = upscale_flow(m.flow, (W, H))
            e = np.linalg.norm(est - gt, axis=2)
            v = vis > 0.5
            if v.any():
                epe.append(float(e[v].mean()))
                bad.append(float((e[v] > 3.0).mean()))
            c = cv2.resize(m.confidence, (W, H), interpolation=cv2.INTER_LINEAR)
            c = np.minimum(c * cfg.strength, 0.95)
            if v.any():
                conf_vis.append(float(c[v].mean()))
            if (~v).any():
                conf_occ.append(float(c[~v].mean()))
    skip = 1
    per_err = warping_error(stylized[skip:], clip.flows[skip:])
    bl_err = warping_error(outs[skip:], clip.flows[skip:])
    ghost = []
    for t in range(1 + skip, len(outs)):
        occ = clip.flows[t - 1][1] < 0.5
        occ = cv2.erode(occ.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if occ.sum() > 100:
            d = cv2.absdiff(outs[t], stylized[t]).mean(axis=2)
            ghost.append(float(d[occ].mean()))
    lag = []  # does the blended picture trail the content? global shift from the fresh stylized frame to it
    for t in range(1 + skip, len(outs)):
        a = cv2.cvtColor(stylized[t], cv2.COLOR_RGB2GRAY).astype(np.float32)
        b = cv2.cvtColor(outs[t], cv2.COLOR_RGB2GRAY).astype(np.float32)
        (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F))
        lag.append(math.hypot(dx, dy))
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")  # noqa: E731
    H, W = clip.frames[0].shape[:2]
    mag = [float(np.median(np.linalg.norm(f, axis=2)[v > 0.5])) for f, v in clip.flows if (v > 0.5).any()]
    return {
        "clip": clip.name, "frames": len(clip.frames), "size": f"{W}x{H}",
        "truth": "exact" if clip.exact else "DIS medium",
        "motion_px_median": mean(mag),
        "warp_err_per_frame": per_err, "warp_err_blended": bl_err, "warp_ratio": bl_err / max(per_err, 1e-12),
        "detail_ratio": mean([detail(o) for o in outs[skip:]]) / max(mean([detail(s) for s in stylized[skip:]]), 1e-9),
        "flicker_per_frame": flicker(stylized[skip:]), "flicker_blended": flicker(outs[skip:]),
        "flow_epe_px": mean(epe), "flow_bad_frac": mean(bad), "conf_visible": mean(conf_vis),
        "conf_occluded": mean(conf_occ), "cuts": blender.cuts, "ghost": mean(ghost),
        "lag_px": mean(lag),
        "flow_ms_median": float(np.median(flow_ms[1:])),
    }


def _import_renamed(root: Path, name: str):
    """Import the ``livestyle`` package under ``root`` as ``name`` (a renamed copy in a temporary folder), so
    that two versions of the blender run in one process."""
    import importlib
    import re
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="eval_motion_"))
    shutil.copytree(root / "livestyle", tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
    for py in (tmp / name).rglob("*.py"):
        py.write_text(re.sub(r"\b(from|import) livestyle\b", rf"\1 {name}", py.read_text()))
    sys.path.insert(0, str(tmp))
    return importlib.import_module(f"{name}.temporal")


def flow_stage_ms(before_root: Path, clip: str = "davis/car-roundabout", rounds: int = 6,
                  frames: int = 16) -> dict[str, dict]:
    """CPU time (thread time, 1 OpenCV thread) of ``TemporalBlender.estimate_motion`` per frame at 640x480 with
    the defaults: this checkout against the ``livestyle`` package under ``before_root`` (an older commit). Both
    run in this process, alternated frame by frame, so load from other processes hits them alike; per version
    the min and median over all frames, and the median of the per-frame differences, in ms."""
    cv2.setNumThreads(1)
    old = _import_renamed(before_root, "livestyle_before")
    fr = load_clip(clip, frames, (640, 480))
    t_old, t_new = [], []
    for _ in range(rounds):
        a, b = old.TemporalBlender(), TemporalBlender()
        a.estimate_motion(fr[0])
        b.estimate_motion(fr[0])
        for f in fr[1:]:
            t0 = time.thread_time()
            a.estimate_motion(f)
            t1 = time.thread_time()
            b.estimate_motion(f)
            t2 = time.thread_time()
            t_old.append(1000 * (t1 - t0))
            t_new.append(1000 * (t2 - t1))
    res = {k: {"min_ms": float(np.min(v)), "median_ms": float(np.median(v))}
           for k, v in (("before", t_old), ("after", t_new))}
    res["added_ms_median_of_differences"] = float(np.median(np.subtract(t_new, t_old)))
    return res


def _stylizer(args):
    if args.model and not args.proxy:
        from livestyle.stylize import Stylizer, find_model

        card = find_model(args.model)
        st = Stylizer(card, device="cpu", threads=args.threads)
        return st, card.name
    return ProxyStylizer(0), "proxy stylizer (development only)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model name or card path (default: the proxy stylizer)")
    ap.add_argument("--proxy", action="store_true", help="use the development proxy stylizer")
    ap.add_argument("--speeds", type=float, nargs="*", default=list(SPEEDS), help="synthetic speeds, px/frame")
    ap.add_argument("--real", nargs="*", default=None, help=f"real clips (default: {' '.join(REAL)})")
    ap.add_argument("--no-real", action="store_true", help="synthetic scenes only")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--size", default="1024x436", help="synthetic frame size WxH")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--path", choices=("circle", "wave"), default="circle",
                    help="synthetic motion: circling (default) or waving left and right (reversals)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="TemporalConfig overrides")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--oracle", action="store_true",
                    help="synthetic clips only: ratios with the true flow and/or visibility in place of the blender's")
    ap.add_argument("--timing", metavar="BEFORE_ROOT",
                    help="only time the flow stage (estimate_motion, 640x480, 1 thread) of this checkout against the "
                         "livestyle package under BEFORE_ROOT, e.g. `git archive 0a1d940 livestyle | tar -x -C DIR`")
    args = ap.parse_args(argv)
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        if len(size) != 2 or min(size) < 64:
            raise ValueError(f"--size {args.size}: use WxH, at least 64x64")
        if args.frames < 3:
            raise ValueError("--frames must be at least 3")
        overrides = {}
        for kv in args.set:
            k, v = kv.split("=", 1)
            default = getattr(TemporalConfig, k)
            overrides[k] = (v.lower() in ("1", "true", "yes")) if isinstance(default, bool) else type(default)(v)
        cfg = replace(TemporalConfig(), **overrides)
    except (ValueError, AttributeError, ConfigError) as e:
        print(f"eval_motion: bad option: {e}", file=sys.stderr)
        return 2
    if args.timing:
        before = Path(args.timing)
        if not (before / "livestyle" / "temporal").is_dir():
            print(f"eval_motion: no livestyle package under {before}", file=sys.stderr)
            return 2
        res = flow_stage_ms(before)
        for k in ("before", "after"):
            print(f"{k:8s} flow stage min {res[k]['min_ms']:.2f} ms  median {res[k]['median_ms']:.2f} ms per frame "
                  f"(640x480, 1 thread, CPU time)")
        print(f"added: {res['added_ms_median_of_differences']:+.2f} ms per frame (median of per-frame differences)")
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
        return 0
    stylize, label = _stylizer(args)
    print(f"stylizer: {label}; blending: {cfg}", flush=True)
    clips: list = [lambda s=s: SynthScene(s, size, seed=args.seed, path=args.path).frames(args.frames, seed=args.seed)
                   for s in args.speeds]
    real = [] if args.no_real else (REAL if args.real is None else args.real)
    clips += [lambda r=r: real_clip(r, args.frames, None) for r in real]
    results = []
    if args.oracle:
        for make in clips[:len(args.speeds)]:
            clip = make()
            r = {"clip": clip.name, **oracle_ratios(clip, stylize, cfg)}
            results.append(r)
            print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else str(v) for k, v in r.items()), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"config": str(cfg), "oracle": results}, indent=2) + "\n")
        return 0
    for make in clips:
        clip = make()
        r = run_clip(clip, stylize, cfg)
        r["stylizer"] = label
        results.append(r)
        print(f"{r['clip']:24s} motion {r['motion_px_median']:5.1f}px  warp {r['warp_err_per_frame']*1e3:6.3f} -> "
              f"{r['warp_err_blended']*1e3:6.3f} e-3 (x{r['warp_ratio']:.3f})  detail x{r['detail_ratio']:.3f}  "
              f"EPE {r['flow_epe_px']:5.2f} bad {r['flow_bad_frac']:.2f}  conf vis {r['conf_visible']:.2f} "
              f"occ {r['conf_occluded']:.2f}  cuts {r['cuts']}  ghost {r['ghost']:.1f}  lag {r['lag_px']:.2f}px  "
              f"flow {r['flow_ms_median']:.1f}ms",
              flush=True)
    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"config": str(cfg), "results": results}, indent=2) + "\n")
    return 0


def markdown(results: list[dict]) -> str:
    """The results as a Markdown table (the one in docs/TEMPORAL.md)."""
    rows = ["| clip | motion (px/frame, median) | warp err per-frame -> blended (e-3) | ratio | detail ratio | "
            "ghost | lag (px) | flow EPE (px) | cuts |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['clip']} | {r['motion_px_median']:.1f} | {r['warp_err_per_frame']*1e3:.3f} -> "
                    f"{r['warp_err_blended']*1e3:.3f} | **{r['warp_ratio']:.3f}** | {r['detail_ratio']:.3f} | "
                    f"{r['ghost']:.1f} | {r['lag_px']:.2f} | {r['flow_epe_px']:.2f} | {r['cuts']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
