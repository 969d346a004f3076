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


def measure(size: tuple[int, int], model: str, runs: int, backend: str = "auto") -> dict[str, dict[str, float]]:
    """Time every stage the pipeline runs for one frame, plus the blend's parts, on frames of ``size``."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize import find_model
    from livestyle.stylize.backends import open_stylizer
    from livestyle.stylize.upsample import upsample
    from livestyle.temporal import TemporalBlender
    from livestyle.temporal.blender import restore_detail
    from livestyle.temporal.warp import warp_by_flow

    w, h = size
    with open_source("synth", size=size) as src:
        frames = [src.read().image for _ in range(3)]
    st = open_stylizer(find_model(model), backend=backend, device="cpu", threads=1)
    print(f"network on {st.provider}")
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
    rows = {name: thread_cpu_ms(fn, runs) for name, fn in ops.items()}
    rows["frame total (capture to blend)"] = thread_cpu_ms(_whole_frame(size, st), runs)
    return rows


def _whole_frame(size: tuple[int, int], st: object) -> Callable[[], object]:
    """One live frame end to end in one thread: a fresh synth frame, the stylizer, the flow and the blend.

    Its CPU time is the total a frame costs, which bounds the rate of a machine whose cores are all busy:
    about ``1000 * cores / total_ms`` FPS at best (two cores at 30 FPS need a total under ~66 ms, less the
    hand-offs).
    """
    from livestyle.capture.synth import SynthSource
    from livestyle.temporal import TemporalBlender

    src, blender = SynthSource(*size), TemporalBlender()

    def frame() -> object:
        f = src.read().image
        return blender.blend(st.postprocess(st.infer(st.preprocess(f)), like=f), blender.estimate_motion(f))

    for _ in range(3):  # past the first frames, which have no motion to blend with
        frame()
    return frame


def ort_profile(size: tuple[int, int], model: str, runs: int) -> dict[str, float]:
    """ONNX Runtime's own per-operator time (ms per run, summed by operator type) of the model at the
    processing size the stylizer picks for ``size``, one intra-op thread as the pipeline runs it. Says where
    inference time goes on a CPU: convolutions, or the reflection pads, NCHWc reorders and instance norms
    between them."""
    import collections
    import tempfile

    import onnxruntime as ort

    from livestyle.stylize import Stylizer, find_model
    from livestyle.stylize.session import session_options

    card = find_model(model)
    st = Stylizer(card, device="cpu", threads=1)
    x = st.preprocess(np.zeros((size[1], size[0], 3), np.uint8))
    so = session_options(1)
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = str(Path(tmp) / "ort")
        sess = ort.InferenceSession(str(card.verify("fp32")), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        sess.run(None, {name: x})
        for _ in range(runs):
            sess.run(None, {name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"] / 1e3 / (runs + 1)
    return {k: round(v, 3) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument("--model", default="starry_night-lite", help="bundled model (default starry_night-lite)")
    p.add_argument("--runs", type=int, default=30, help="timed calls per operation (default 30)")
    p.add_argument("--json", type=Path, help="write the figures as JSON")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "openvino"],
                   help="runtime of the network (default auto: what livestyle runs here)")
    p.add_argument("--ort-profile", action="store_true",
                   help="also print ONNX Runtime's per-operator time for the model (where inference goes)")
    a = p.parse_args(argv)
    try:
        w, h = (int(v) for v in a.size.lower().split("x"))
    except ValueError:
        p.error(f"--size {a.size!r}: use WxH, e.g. 640x480")
    cv2.setNumThreads(1)
    from livestyle.bench import machine_info
    from livestyle.memory import keep_freed_buffers

    keep_freed_buffers()  # as the pipeline runs: freed frame buffers are reused, not page-faulted in again

    info = machine_info()
    rows = measure((w, h), a.model, max(3, a.runs), a.backend)
    mhz = info.get("cpu_mhz")
    print(f"{w}x{h}, one thread; {info['cpu']}" + (f" at {mhz / 1000:.1f} GHz" if mhz else "")
          + f", load average {os.getloadavg()[0]:.2f}; thread CPU ms, min / median of {a.runs}")
    for name, r in rows.items():
        print(f"  {name:32s} {r['min_ms']:8.2f} {r['median_ms']:8.2f}")
    data = {"size": [w, h], "machine": info, "ops": rows}
    if a.ort_profile:
        prof = ort_profile((w, h), a.model, max(3, a.runs))
        total = sum(prof.values()) or 1.0
        print(f"ONNX Runtime per operator type, ms per run (sum {total:.2f} ms):")
        for op, ms in prof.items():
            print(f"  {op:32s} {ms:8.3f} {100 * ms / total:5.1f}%")
        data["ort_profile_ms"] = prof
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
