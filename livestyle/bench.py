"""``livestyle bench``: run the real pipeline on a source and report where the time goes.

The numbers come from the same per-frame stage timers the live run uses (``Pipeline``), after a warm-up, so the
bench measures the product rather than a separate code path. Output frames go to a null sink unless sinks are
given, so the ``sink`` stage is ~0 ms by default (it then measures only the hand-off).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livestyle.config import BenchConfig, ModelConfig, RunConfig, SourceConfig
from livestyle.frames import Frame
from livestyle.pipeline import STATS_WINDOW, RunStats, build_pipeline


class NullSink:
    """Discards frames: the bench measures the pipeline, not a disk or a network."""

    name = "null"

    def __init__(self) -> None:
        self.frames = 0

    def write(self, frame: Frame) -> None:
        self.frames += 1

    def close(self) -> None:
        pass

    def __enter__(self) -> "NullSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_mhz() -> float | None:
    """The clock the kernel reports for the first CPU (a VM reports its host's nominal clock)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("cpu mhz"):
                return round(float(line.split(":", 1)[1]), 0)
    except (OSError, ValueError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """What the figures were measured on (the load average tells whether the CPU was shared)."""
    import onnxruntime as ort

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cpu_mhz": _cpu_mhz(), "logical_cores": os.cpu_count(), "usable_cores": usable,
        "platform": platform.platform(), "python": platform.python_version(),
        "onnxruntime": ort.__version__, "ort_providers_available": ort.get_available_providers(),
    }
    try:
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    openvino = sys.modules.get("openvino")  # only when the openvino backend loaded it
    if openvino is not None:
        info["openvino"] = getattr(openvino, "__version__", "?")
    torch = sys.modules.get("torch")  # only when the torch backend already loaded it: the bench never imports torch
    if torch is not None:
        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
    return info


@dataclass
class BenchResult:
    stats: RunStats
    config: dict[str, Any]
    machine: dict[str, Any]
    providers: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        return {
            "fps": s.fps,
            "frames": s.frames,
            "elapsed_s": s.elapsed_s,
            "latency_ms": s.latency(),
            "stages": s.stage_summary(),
            "dropped": s.dropped,
            "usage": self.usage,
            "models": self.models,
            "providers": self.providers,
            "config": self.config,
            "machine": self.machine,
        }

    def table(self) -> str:
        """One text table: stages, then throughput and latency."""
        s = self.stats
        lines = [f"{'stage':<12}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}"]
        for name, v in s.stage_summary().items():
            lines.append(f"{name:<12}{v['mean_ms']:>10.2f}{v['p50_ms']:>10.2f}{v['p95_ms']:>10.2f}")
        lat = s.latency()
        mode = self.config.get("mode") or ("pipelined" if self.config.get("pipelined") else "sequential")
        lines.append(f"{'latency':<12}{lat['mean']:>10.2f}{lat['p50']:>10.2f}{lat['p95']:>10.2f}"
                     f"   p99 {lat['p99']:.2f} ms")
        lines.append(f"{s.frames} frames in {s.elapsed_s:.2f} s: {s.fps:.1f} FPS ({mode}, "
                     f"{', '.join(self.models)} on {', '.join(self.providers) or '?'})")
        if self.usage:
            load = self.machine.get("loadavg_1m")
            mhz = self.machine.get("cpu_mhz")
            lines.append(f"CPU {self.usage['cpu_ms_per_frame']:.1f} ms/frame, {self.usage['cores_used']:.2f} cores "
                         f"used of {self.machine.get('usable_cores', '?')} ({self.machine.get('cpu', '?')}"
                         + (f", {mhz / 1000:.1f} GHz" if mhz else "") + ")"
                         + (f", load average {load}" if load is not None else ""))
            per_thread = [f"{k.removesuffix('_thread_cpu_ms_per_frame')} {v:.1f}" for k, v in self.usage.items()
                          if k.endswith("_thread_cpu_ms_per_frame")]
            if per_thread:
                lines.append(f"CPU per thread, ms/frame: {', '.join(per_thread)}")
            if "flow_on_infer_share" in self.usage:
                post, flow = self.usage["post_on_output_share"], self.usage["flow_on_infer_share"]
                lines.append(f"balancing: postprocess on the output thread for {post:.0%} of frames, "
                             f"flow on the inference thread for {flow:.0%}")
        return "\n".join(lines)


def run_bench(config: BenchConfig, *, stop_event: threading.Event | None = None,
              sinks: list[Any] | None = None) -> BenchResult:
    """Build the pipeline ``config.run`` describes, run ``warmup + frames`` frames, return the figures."""
    run = config.run
    from dataclasses import replace

    run = replace(run, max_frames=config.warmup + config.frames)
    pipe = build_pipeline(run, stop_event=stop_event, warmup=config.warmup,
                          sinks=sinks if sinks is not None else [NullSink()],
                          stats_window=max(config.frames, STATS_WINDOW))  # every measured frame counts
    providers = sorted({str(getattr(m, "provider", "?")) for m in pipe.stylizers})
    models = list(pipe.controls.style_names)
    size, sizing = getattr(pipe.source, "size", None), getattr(pipe.stylizers[0], "processing_size", None)
    proc = list(sizing(*size)) if size and sizing is not None else None  # what the network actually ran at
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stats = pipe.run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    desc = BenchConfig(run=run, frames=config.frames, warmup=config.warmup).describe()
    desc["threads_used"] = run.model.threads if run.model.threads is not None else (1 if run.pipelined else None)
    desc["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if proc is not None:
        desc["processing_size_used"] = proc
    # CPU time this process got: on a shared machine, cores_used < usable_cores says the others took the rest
    n_all = stats.frames + config.warmup
    usage = {"cpu_ms_per_frame": cpu * 1e3 / n_all if n_all else float("nan"),
             "cores_used": cpu / wall if wall > 0 else float("nan")}
    if n_all:  # each loop thread's own CPU per frame: the larger one bounds the FPS of an otherwise idle machine
        usage |= {f"{name}_thread_cpu_ms_per_frame": pipe.thread_cpu_s[name] * 1e3 / n_all
                  for name in ("main", "capture", "infer", "output") if name in pipe.thread_cpu_s}
        if run.pipelined:  # where the balancing put the two movable stages, as a share of the frames
            usage |= {f"{k}_share": v / n_all for k, v in pipe.moved.items()}
    return BenchResult(stats=stats, config=desc, machine=machine_info(), providers=providers, models=models,
                       usage=usage)


def run_stylizer_bench(model: ModelConfig, *, source: str = "synth", size: tuple[int, int] = (640, 480),
                       frames: int = 200, warmup: int = 20, stop_event: threading.Event | None = None) -> BenchResult:
    """Time the stylizer alone (preprocess -> infer -> postprocess, one frame after another) on frames read into
    memory first, so the figure is the backend's own throughput: no capture, flow, blending or sink in the way."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize.backends import open_stylizer
    from livestyle.stylize.registry import default_model, find_model

    card = find_model(model.model) if model.model else default_model()
    stylizer = open_stylizer(card, backend=model.backend, device=model.device, size=model.size, scale=model.scale,
                             threads=model.threads, torch_mode=model.torch_mode)
    images = []
    with open_source(source, size=size) as src:
        while len(images) < min(16, frames + warmup):  # a few distinct frames, reused round-robin
            frame = src.read()
            if frame is None:
                break
            images.append(frame.image)
    if not images:
        from livestyle.errors import SourceError

        raise SourceError(f"source {source} gave no frames to benchmark: use synth or a video file")
    stats = RunStats(warmup_frames=warmup, window=max(frames, STATS_WINDOW))
    stop = stop_event or threading.Event()
    cpu0 = time.process_time()
    start = wall0 = time.perf_counter()
    for i in range(warmup + frames):
        if stop.is_set():
            break
        if i == warmup:
            start, stats.frames = time.perf_counter(), 0
        img = images[i % len(images)]
        t0 = time.perf_counter()
        x = stylizer.preprocess(img)
        t1 = time.perf_counter()
        y = stylizer.infer(x)
        t2 = time.perf_counter()
        stylizer.postprocess(y, like=img)
        t3 = time.perf_counter()
        if i >= warmup:
            stats.frames += 1
            stats.add((t3 - t0) * 1e3, {"preprocess": (t1 - t0) * 1e3, "inference": (t2 - t1) * 1e3,
                                        "postprocess": (t3 - t2) * 1e3})
    end = time.perf_counter()
    stats.elapsed_s = end - start if stats.frames else 0.0
    cpu, wall = time.process_time() - cpu0, end - wall0
    h, w = images[0].shape[:2]
    run = RunConfig(source=SourceConfig(source, size), model=model, pipelined=False)
    desc = BenchConfig(run=run, frames=frames, warmup=warmup).describe()
    desc.update(mode="stylizer-only", temporal=None, sinks=[], frame_size=[w, h],
                processing_size_used=list(stylizer.processing_size(w, h)),
                precision=getattr(stylizer, "precision", None), time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    n_all = warmup + stats.frames
    usage = {"cpu_ms_per_frame": cpu * 1e3 / n_all if n_all else float("nan"),
             "cores_used": cpu / wall if wall > 0 else float("nan")}
    return BenchResult(stats=stats, config=desc, machine=machine_info(), providers=[str(stylizer.provider)],
                       models=[card.name], usage=usage)


def write_json(result: BenchResult, path: str | Path, compare: list[BenchResult] | None = None) -> None:
    """The main result at the top level; reference runs (e.g. sequential) under ``compare``."""
    data = result.to_json()
    if compare:
        data["compare"] = [r.to_json() for r in compare]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def plot(results: list[BenchResult] | list[dict[str, Any]], path: str | Path,
         labels: list[str] | None = None) -> None:
    """Stage means (bars, p95 whiskers) and end-to-end latency p50/p95/p99, one colour per run.

    Takes ``BenchResult``s or their JSON form (``to_json()`` / a ``--json`` file), so a chart can be redrawn later.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data = [r.to_json() if isinstance(r, BenchResult) else r for r in results]
    labels = labels or [("pipelined" if d["config"].get("pipelined") else "sequential") for d in data]
    stages: list[str] = []
    for d in data:
        stages += [s for s in d["stages"] if s not in stages]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    width = 0.8 / max(1, len(data))
    x = np.arange(len(stages))
    for i, (d, label) in enumerate(zip(data, labels)):
        mean = np.array([d["stages"].get(s, {}).get("mean_ms", 0.0) for s in stages])
        p95 = np.array([d["stages"].get(s, {}).get("p95_ms", 0.0) for s in stages])
        err = np.clip(p95 - mean, 0, None)
        ax1.bar(x + i * width - 0.4 + width / 2, mean, width, yerr=[np.zeros_like(err), err], capsize=2,
                label=f"{label}: {d['fps']:.1f} FPS")
    ax1.set_xticks(x, stages, rotation=30, ha="right")
    ax1.set_ylabel("ms per frame (mean, whisker = p95)")
    ax1.set_title("Per-stage time")
    ax1.legend(fontsize=8)
    qs = ("p50", "p95", "p99")
    xq = np.arange(len(qs))
    for i, (d, label) in enumerate(zip(data, labels)):
        ax2.bar(xq + i * width - 0.4 + width / 2, [d["latency_ms"][q] for q in qs], width, label=label)
    ax2.set_xticks(xq, qs)
    ax2.set_ylabel("end-to-end latency, ms")
    ax2.set_title("Latency (capture to sink)")
    ax2.legend(fontsize=8)
    m = data[0]["machine"] if data else {}
    load = m.get("loadavg_1m")
    fig.suptitle(f"livestyle bench: {', '.join(data[0].get('models', [])) if data else ''}, "
                 f"{data[0]['config'].get('source') if data else ''} {data[0]['config'].get('capture_size') if data else ''}; "
                 f"{m.get('cpu', '')}" + (f" {m['cpu_mhz'] / 1000:.1f} GHz" if m.get("cpu_mhz") else "")
                 + f", {m.get('usable_cores', '?')} cores"
                 + (f", load average {load}" if load is not None else ""), fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
