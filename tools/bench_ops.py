"""Single-thread CPU time of each per-frame operation, to compare CPUs op by op (issue 12).

End-to-end FPS depends on the load and on how the two pipeline threads share the cores; the CPU time one thread
spends in one operation (``time.thread_time``, OpenCV and ONNX Runtime held to one thread) carries from one machine
to another much better. Run it on two machines and divide the figures to see which stage a slower CPU slows most:

    python -m tools.bench_ops --size 640x480 --runs 30 --json ops.json

Frames come from the ``synth`` source (nothing to download); the model is a bundled lite model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np


def thread_cpu_ms(fn: Callable[[], object], runs: int) -> dict[str, float]:
    """Min and median CPU milliseconds of the calling thread over ``runs`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.thread_time()
        fn()
        times.append((time.thread_time() - t0) * 1e3)
    return {"min_ms": round(min(times), 2), "median_ms": round(statistics.median(times), 2)}


def measure(size: tuple[int, int], model: str, runs: int) -> dict[str, dict[str, float]]:
    """Time every stage the pipeline runs for one frame, plus the blend's parts, on frames of ``size``."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize import Stylizer, find_model
    from livestyle.stylize.upsample import upsample
    from livestyle.temporal import TemporalBlender
    from livestyle.temporal.blender import restore_detail
    from livestyle.temporal.warp import warp_by_flow

    w, h = size
    with open_source("synth", size=size) as src:
        frames = [src.read().image for _ in range(3)]
    st = Stylizer(find_model(model), device="cpu", threads=1)
    x = st.preprocess(frames[1])
    y = st.infer(x)
    low = st.postprocess(y)
    stylized = [st.postprocess(st.infer(st.preprocess(f)), like=f) for f in frames]
    blender = TemporalBlender()
    blender.estimate_motion(frames[0])
    motion = blender.estimate_motion(frames[1])
    if motion is None:
        raise SystemExit("no motion between the synth frames: cannot time the blend")
    prev_gray = blender._prev_gray

    def flow() -> object:
        blender._prev_gray = prev_gray  # the same frame pair every time
        return blender.estimate_motion(frames[2])

    def blend() -> object:
        blender._prev_output = stylized[0]
        return blender.blend(stylized[1], motion)

    c = cv2.resize(motion.confidence * np.float32(0.85), (w, h))
    one_minus_c = 1.0 - c
    warped = warp_by_flow(stylized[0], motion.flow, "cubic")
    mixed = cv2.blendLinear(warped, stylized[1], c, one_minus_c)
    moving = np.ones(motion.flow.shape[:2], np.float32)
    flow()  # leave the blender's grey frame where blend() and flow() expect it
    ops: dict[str, Callable[[], object]] = {
        "preprocess": lambda: st.preprocess(frames[1]),
        "inference": lambda: st.infer(x),
        "postprocess: to uint8": lambda: st.postprocess(y),
        "postprocess: guided upsample": lambda: upsample(low, (w, h), guide=frames[1]),
        "flow (estimate_motion)": flow,
        "blend (whole)": blend,
        "blend: warp cubic": lambda: warp_by_flow(stylized[0], motion.flow, "cubic"),
        "blend: warp linear": lambda: warp_by_flow(stylized[0], motion.flow, "linear"),
        "blend: cv2.blendLinear": lambda: cv2.blendLinear(warped, stylized[1], c, one_minus_c),
        "blend: restore_detail": lambda: restore_detail(mixed, stylized[1], moving),
    }
    return {name: thread_cpu_ms(fn, runs) for name, fn in ops.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument("--model", default="starry_night-lite", help="bundled model (default starry_night-lite)")
    p.add_argument("--runs", type=int, default=30, help="timed calls per operation (default 30)")
    p.add_argument("--json", type=Path, help="write the figures as JSON")
    a = p.parse_args(argv)
    try:
        w, h = (int(v) for v in a.size.lower().split("x"))
    except ValueError:
        p.error(f"--size {a.size!r}: use WxH, e.g. 640x480")
    cv2.setNumThreads(1)
    from livestyle.bench import machine_info

    info = machine_info()
    rows = measure((w, h), a.model, max(3, a.runs))
    mhz = info.get("cpu_mhz")
    print(f"{w}x{h}, one thread; {info['cpu']}" + (f" at {mhz / 1000:.1f} GHz" if mhz else "")
          + f", load average {os.getloadavg()[0]:.2f}; thread CPU ms, min / median of {a.runs}")
    for name, r in rows.items():
        print(f"  {name:32s} {r['min_ms']:8.2f} {r['median_ms']:8.2f}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"size": [w, h], "machine": info, "ops": rows}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
