"""Soak test: run the whole pipeline (synthetic source -> stylizer -> temporal blender -> sinks) for many frames and
watch resident memory and threads, so a slow leak shows up before an audience does.

    python -m tools.soak                                   # 20,000 frames at 320x240, tiny test model
    python -m tools.soak --frames 600 --json soak.json     # a quick check
    python -m tools.soak --model starry_night-lite --size 640x480 --sink file:soak.mp4

Memory is sampled (psutil if installed, else /proc/self/statm) after ``--warmup`` frames, then every ``--every``
frames and at the end; growth is end minus warm-up. Threads: Python threads and OS threads (ONNX Runtime's pool
included) are counted at warm-up and at the end of the run, and Python threads once more after the pipeline has
closed, against the count before it was built. Prints one summary line and, with ``--json``, writes every sample.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = REPO / "tests" / "fixtures" / "tiny-test.json"


def rss_bytes() -> int:
    """Resident set size of this process."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    with open("/proc/self/statm") as f:  # Linux: pages
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def os_threads() -> int:
    """Threads of this process as the OS sees them (native pools included); Python's count where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.Process().num_threads())
    except ImportError:
        return threading.active_count()


@dataclass
class Sample:
    frame: int
    seconds: float
    rss_mb: float
    py_threads: int
    os_threads: int


@dataclass
class SoakResult:
    frames: int
    warmup: int
    size: tuple[int, int]
    model: str
    elapsed_s: float
    fps: float
    rss_before_mb: float
    rss_warm_mb: float
    rss_end_mb: float
    growth_mb: float
    late_growth_mb: float  # over the second half of the run: a leak keeps climbing, a filling buffer levels off
    peak_mb: float
    py_threads_before: int
    py_threads_warm: int
    py_threads_end: int
    py_threads_after_close: int
    os_threads_warm: int
    os_threads_end: int
    leaked_threads: list[str]
    samples: list[Sample] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return (f"soak: {self.frames} frames at {self.size[0]}x{self.size[1]} in {self.elapsed_s:.0f} s "
                f"({self.fps:.0f} FPS); RSS {self.rss_warm_mb:.1f} MB after {self.warmup} warm-up frames -> "
                f"{self.rss_end_mb:.1f} MB at the end (growth {self.growth_mb:+.1f} MB, second half "
                f"{self.late_growth_mb:+.1f} MB, peak {self.peak_mb:.1f}); "
                f"threads py {self.py_threads_warm}->{self.py_threads_end} (after close {self.py_threads_after_close}"
                f", before {self.py_threads_before}), os {self.os_threads_warm}->{self.os_threads_end}; "
                f"leaked: {', '.join(self.leaked_threads) or 'none'}")


class CountingSink:
    """Takes frames and keeps nothing (the pipeline's own state is what is being measured)."""

    name = "null"

    def __init__(self) -> None:
        self.frames = 0

    def write(self, frame: Any) -> None:
        self.frames += 1

    def close(self) -> None:
        pass


def soak(frames: int = 20_000, size: tuple[int, int] = (320, 240), model: str | None = None, warmup: int = 500,
         every: int = 1000, sinks: list[str] | None = None, pipelined: bool = True,
         threads: int | None = None, progress: bool = False) -> SoakResult:
    """Run ``frames`` frames (warm-up included) and return the memory and thread figures."""
    from livestyle.config import ModelConfig, RunConfig, SourceConfig
    from livestyle.pipeline import build_pipeline
    from livestyle.sinks.registry import open_sink

    if frames <= warmup:
        raise SystemExit(f"--frames ({frames}) must be larger than --warmup ({warmup})")
    model = model or str(TINY_MODEL)
    gc.collect()
    before_names = {t.name for t in threading.enumerate()}
    py_before, rss_before = threading.active_count(), rss_bytes()
    config = RunConfig(source=SourceConfig(f"synth:{size[0]}x{size[1]}"),
                       model=ModelConfig(model=model, threads=threads), max_frames=frames, pipelined=pipelined)
    out: list[Any] = [CountingSink()]
    for spec in sinks or []:
        out.append(open_sink(spec, size=size, fps=30.0))
    samples: list[Sample] = []
    t0 = time.perf_counter()
    marks: dict[str, Sample] = {}

    def on_frame(frame: Any) -> None:
        n = out[0].frames
        if n == warmup or (n > warmup and (n - warmup) % every == 0) or n == frames:
            if n == warmup:
                gc.collect()
            s = Sample(n, time.perf_counter() - t0, rss_bytes() / 2**20, threading.active_count(), os_threads())
            samples.append(s)
            if n == warmup:
                marks["warm"] = s
            if progress:
                print(f"soak: frame {n}: RSS {s.rss_mb:.1f} MB, threads {s.py_threads} py / {s.os_threads} os",
                      file=sys.stderr, flush=True)

    pipe = build_pipeline(config, on_frame=on_frame, sinks=out, warmup=warmup)
    stats = pipe.run()
    elapsed = time.perf_counter() - t0
    gc.collect()
    end = Sample(out[0].frames, elapsed, rss_bytes() / 2**20, threading.active_count(), os_threads())
    if not samples or samples[-1].frame != end.frame:
        samples.append(end)
    warm = marks.get("warm", samples[0])
    last = samples[-1]
    half = next(s for s in samples if s.frame >= (warm.frame + last.frame) / 2)
    del pipe
    gc.collect()
    time.sleep(0.2)  # let joined threads finish unwinding
    leaked = sorted(t.name for t in threading.enumerate() if t.name not in before_names and t.is_alive())
    try:
        import onnxruntime as ort

        ort_version = ort.__version__
    except ImportError:  # pragma: no cover
        ort_version = ""
    return SoakResult(
        frames=out[0].frames, warmup=warmup, size=size, model=model, elapsed_s=elapsed,
        fps=stats.fps, rss_before_mb=rss_before / 2**20, rss_warm_mb=warm.rss_mb, rss_end_mb=last.rss_mb,
        growth_mb=last.rss_mb - warm.rss_mb, late_growth_mb=last.rss_mb - half.rss_mb, peak_mb=max(s.rss_mb for s in samples),
        py_threads_before=py_before, py_threads_warm=warm.py_threads, py_threads_end=last.py_threads,
        py_threads_after_close=threading.active_count(), os_threads_warm=warm.os_threads,
        os_threads_end=last.os_threads, leaked_threads=leaked, samples=samples,
        machine={"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                 "onnxruntime": ort_version, "pipelined": pipelined},
    )


def _size(text: str) -> tuple[int, int]:
    from livestyle.config import parse_size
    from livestyle.errors import ConfigError

    try:
        return parse_size(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=20_000, help="frames in all, warm-up included (default 20000)")
    p.add_argument("--warmup", type=int, default=500, help="frames before the first memory sample (default 500)")
    p.add_argument("--every", type=int, default=1000, help="sample every N frames after warm-up (default 1000)")
    p.add_argument("--size", type=_size, default=(320, 240), metavar="WxH", help="frame size (default 320x240)")
    p.add_argument("--model", help="model name or card path (default: the tiny test model)")
    p.add_argument("--sink", action="append", default=[], metavar="SPEC", help="also write here (file:, folder:, http:)")
    p.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    p.add_argument("--sequential", action="store_true", help="the one-thread pipeline")
    p.add_argument("--max-growth-mb", type=float, default=30.0, help="exit 1 when RSS grows more (default 30)")
    p.add_argument("--json", metavar="F", help="write the figures and every sample as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-sample progress lines")
    args = p.parse_args(argv)
    result = soak(args.frames, args.size, args.model, args.warmup, args.every, args.sink, not args.sequential,
                  args.threads, progress=not args.quiet)
    print(result.line())
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result), indent=2) + "\n")
    ok = result.growth_mb < args.max_growth_mb and not result.leaked_threads
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
