"""Where the stages meet: source -> [mask] -> stylizer -> [effects] -> temporal blender -> [compose] -> sinks.

Two loops run the same stage functions:

* sequential (``pipelined=False``): one thread does everything; the un-optimised reference.
* pipelined (default): an inference thread (capture, mask, stylizer; ONNX Runtime releases the GIL) and the
  calling thread (effects, flow, blend, compose, sinks), joined by a one-frame hand-off, so two cores are busy at
  once; ``prefetch`` adds a read-ahead capture thread for files. Live sources hand over their newest frame (the
  source drops and counts older ones); finite sources give every frame in order, so a slow stage back-pressures
  the reader instead of losing frames.

Timings are kept per frame and per stage, plus end-to-end latency (sink time minus capture time), so the bench
and the run summary read the same numbers. A sink that raises ``SinkError`` is reported once and dropped; the
run stops when none is left. Sinks and the source are always closed (files finalised) on the way out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from livestyle.config import EffectsConfig, RunConfig
from livestyle.errors import ConfigError, LivestyleError, SinkError
from livestyle.frames import Frame

log = logging.getLogger("livestyle.pipeline")

STAGES: tuple[str, ...] = ("capture", "mask", "preprocess", "inference", "postprocess", "effects", "flow",
                           "blend", "compose", "sink")
_END = object()  # queue sentinel: the source is exhausted
_POLL_S = 0.05  # how often blocked threads look at the stop event


class StylizerLike(Protocol):
    """What the pipeline needs from ``livestyle.stylize.Stylizer`` (fakes in tests follow it too)."""

    def preprocess(self, rgb: np.ndarray) -> Any: ...

    def infer(self, tensor: Any) -> Any: ...

    def postprocess(self, tensor: Any, like: np.ndarray) -> np.ndarray: ...


# --------------------------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


STATS_WINDOW = 10_000  # frames whose timings are kept: bounded memory however long a live run lasts


def pipelined_cv_threads() -> int | None:
    """OpenCV threads for the pipelined mode: 1 when its two loop threads already fill the usable cores, else
    None (keep OpenCV's own choice). ``LIVESTYLE_CV_THREADS`` overrides.

    OpenCV's worker threads only help while a core is idle. With both cores busy they compete with the other
    loop thread, and waking and spinning them costs CPU of its own: the output-side work of one 640x480 frame
    took 22.9-23.1 ms of process CPU with 1 OpenCV thread and 23.9-28.7 ms with 2, for 2.6 ms less on the
    calling thread (AMD EPYC 2.6 GHz, 2 vCPUs; docs/BENCHMARKS.md). On a 2-core machine that runs at its limit
    the total is what counts.
    """
    env = os.environ.get("LIVESTYLE_CV_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return 1 if cores <= 2 else None


@dataclass
class RunStats:
    """What a run measured. ``stages`` and ``latencies_ms`` hold one value per counted frame (after warm-up), for
    the last ``window`` frames only, so an hours-long run keeps a few MB at most; ``frames`` counts them all."""

    frames: int = 0
    elapsed_s: float = 0.0
    latencies_ms: Sequence[float] = field(default_factory=list)
    stages: dict[str, Sequence[float]] = field(default_factory=dict)
    dropped: int = 0
    failed_sinks: list[str] = field(default_factory=list)
    stop_reason: str = "end"  # end | max_frames | stopped | quit | sinks
    warmup_frames: int = 0
    window: int = STATS_WINDOW

    def __post_init__(self) -> None:
        self.latencies_ms = deque(self.latencies_ms, maxlen=self.window)
        self.stages = {k: deque(v, maxlen=self.window) for k, v in self.stages.items()}

    def add(self, latency_ms: float, times: dict[str, float]) -> None:
        self.latencies_ms.append(latency_ms)  # type: ignore[attr-defined]
        for k, v in times.items():
            q = self.stages.get(k)
            if q is None:
                q = self.stages[k] = deque(maxlen=self.window)
            q.append(v)  # type: ignore[attr-defined]

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency(self) -> dict[str, float]:
        return {f"p{q}": percentile(self.latencies_ms, q) for q in (50, 95, 99)} | {
            "mean": float(np.mean(self.latencies_ms)) if self.latencies_ms else float("nan")}

    def stage_summary(self) -> dict[str, dict[str, float]]:
        """{stage: {mean_ms, p50_ms, p95_ms, frames}} in pipeline order, for stages that ran."""
        out: dict[str, dict[str, float]] = {}
        names = [s for s in STAGES if s in self.stages] + [s for s in self.stages if s not in STAGES]
        for name in names:
            v = self.stages[name]
            if v:
                out[name] = {"mean_ms": float(np.mean(v)), "p50_ms": percentile(v, 50),
                             "p95_ms": percentile(v, 95), "frames": len(v)}
        return out


# --------------------------------------------------------------------------------------------------- live controls

ACTIONS_HANDLED = ("quit", "next_style", "prev_style", "toggle_stylize", "toggle_temporal", "strength_up",
                   "strength_down", "temporal_up", "temporal_down", "toggle_colors", "next_mask")


@dataclass
class Controls:
    """Knobs the preview hotkeys (and Python callers) turn while the pipeline runs.

    Plain attributes: each is read once per frame by the thread that needs it, so a change lands on the next frame.
    """

    n_styles: int = 1
    style_index: int = 0
    stylize: bool = True
    temporal: bool = True
    temporal_strength: float = 0.85
    strength: float = 1.0
    preserve_colors: bool = False
    mask: str = "none"
    style_names: tuple[str, ...] = ()
    step: float = 0.1

    def apply(self, action: str) -> str | None:
        """Apply one preview action; returns a status line to show (None for ``quit`` or unknown actions)."""
        from livestyle.config import MASK_MODES

        if action == "next_style" or action == "prev_style":
            self.style_index = (self.style_index + (1 if action == "next_style" else -1)) % max(1, self.n_styles)
            name = self.style_names[self.style_index] if self.style_names else str(self.style_index)
            return f"style {self.style_index + 1}/{self.n_styles}: {name}"
        if action == "toggle_stylize":
            self.stylize = not self.stylize
            return f"stylize {'on' if self.stylize else 'off'}"
        if action == "toggle_temporal":
            self.temporal = not self.temporal
            return f"temporal {'on' if self.temporal else 'off'}"
        if action in ("strength_up", "strength_down"):
            d = self.step if action == "strength_up" else -self.step
            self.strength = round(min(1.0, max(0.0, self.strength + d)), 3)
            return f"strength {self.strength:.1f}"
        if action in ("temporal_up", "temporal_down"):
            d = self.step if action == "temporal_up" else -self.step
            self.temporal_strength = round(min(0.95, max(0.0, self.temporal_strength + d)), 3)
            return f"temporal strength {self.temporal_strength:.1f}"
        if action == "toggle_colors":
            self.preserve_colors = not self.preserve_colors
            return f"preserve colours {'on' if self.preserve_colors else 'off'}"
        if action == "next_mask":
            self.mask = MASK_MODES[(MASK_MODES.index(self.mask) + 1) % len(MASK_MODES)]
            return f"mask {self.mask}"
        return None


# --------------------------------------------------------------------------------------------------- the pipeline


@dataclass
class _Item:
    frame: Frame
    style: int
    stylized: np.ndarray | None = None
    mask: np.ndarray | None = None
    times: dict[str, float] = field(default_factory=dict)
    raw: Any = None  # model output still to postprocess (when the output thread does it)
    model: Any = None
    seq: int = 0  # read order: the motion side runs on the frames in this order, whichever thread runs it
    motion: Any = None  # the blender's ``Motion`` for this frame (None: first frame, cut, or not blending)
    motion_done: bool = False
    temporal: bool = False  # blending on for this frame (read once, by the motion side)


class _AnyEvent:
    """Set when either event is: the user's stop request or the pipeline's own end."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


class Pipeline:
    """Runs frames from ``source`` through the stages into ``sinks``; owns (and closes) both.

    ``stylizers`` are preloaded sessions the ``style_index`` control switches between. ``blender`` is a
    ``TemporalBlender`` (or None for no temporal stage), ``segmenter`` a ``PersonSegmenter`` (only called when the
    mask mode is not ``none``). ``warmup`` output frames are excluded from the statistics.
    """

    def __init__(self, source: Any, stylizers: Sequence[StylizerLike], sinks: Sequence[Any], *,
                 blender: Any = None, segmenter: Any = None, effects: EffectsConfig = EffectsConfig(),
                 temporal: bool = True, pipelined: bool = True, max_frames: int | None = None, warmup: int = 0,
                 stop_event: threading.Event | None = None, on_frame: Callable[[Frame], None] | None = None,
                 style_names: Sequence[str] = (), queue_size: int = 1, prefetch: bool = False,
                 balance: bool = True, segmenter_factory: Callable[[], Any] | None = None,
                 stats_window: int = STATS_WINDOW) -> None:
        if not stylizers:
            raise ConfigError("no model to run: give --model NAME (see `livestyle models`)")
        self.source = source
        self.stylizers = list(stylizers)
        self.sinks = list(sinks)
        self.blender = blender
        self.segmenter = segmenter
        self.segmenter_factory = segmenter_factory
        self.pipelined = pipelined
        self.max_frames = max_frames
        self.warmup = warmup
        self.stop_event = stop_event or threading.Event()
        self.on_frame = on_frame
        self.queue_size = max(1, queue_size)
        self.prefetch = prefetch
        self.balance = balance
        # running mean ms per frame, for balancing: each thread's own work, then the two stages that can move
        self._load = {"infer": 0.0, "output": 0.0, "post": 0.0, "flow": 0.0}
        # frames whose postprocess ran on the output thread / flow on the inference thread (pipelined)
        self.moved = {"post_on_output": 0, "flow_on_infer": 0}
        self._placed = (False, False)  # in use: (postprocess on the output thread, flow on the infer thread)
        # CPU seconds each loop thread used (its own work; OpenCV's worker threads are not in it): which thread
        # bounds the frame rate on an idle machine, whatever the load from other processes on this one
        self.thread_cpu_s: dict[str, float] = {}
        t_strength = getattr(getattr(blender, "config", None), "strength", 0.85)
        self.controls = Controls(n_styles=len(self.stylizers), temporal=temporal and blender is not None,
                                 temporal_strength=float(t_strength), strength=effects.strength,
                                 preserve_colors=effects.preserve_colors, mask=effects.mask,
                                 style_names=tuple(style_names))
        self.stats = RunStats(warmup_frames=warmup, window=stats_window)
        self._closed = False
        self._errors: list[BaseException] = []
        self._halt = threading.Event()
        self._stopping = _AnyEvent(self.stop_event, self._halt)
        self._out_count = 0
        self._t_start = self._t_run = 0.0
        self._last_style = 0
        self._blending = False
        self._read = 0  # frames read so far (the next item's seq)
        self._motion_next = 0  # seq of the frame whose motion side runs next
        self._motion_turn = threading.Condition()
        self._blend_strength = float(t_strength)

    # ----------------------------------------------------------------------------------------------- stages

    def _capture(self) -> _Item | None:
        t0 = time.perf_counter()
        frame = self.source.read()
        if frame is None:
            return None
        item = _Item(frame=frame, style=self.controls.style_index, seq=self._read)
        self._read += 1
        item.times["capture"] = _ms(t0)
        return item

    def _stylize(self, item: _Item, post: bool = True) -> _Item:
        """Mask (if wanted) and the stylizer: the part that runs on the inference thread. With ``post=False`` the
        postprocess (crop, guided upsampling) is left to ``_finish`` on the output thread."""
        c = self.controls
        img = item.frame.image
        if c.mask != "none" and self.segmenter is None and self.segmenter_factory is not None:
            self.segmenter = self.segmenter_factory()  # first use of the preview's mask key: load it now
            self.segmenter_factory = None
        if c.mask != "none" and self.segmenter is not None:
            t0 = time.perf_counter()
            item.mask = self.segmenter(img)
            item.times["mask"] = _ms(t0)
        if not c.stylize:
            item.stylized = None
            return item
        model = self.stylizers[item.style % len(self.stylizers)]
        t0 = time.perf_counter()
        x = model.preprocess(img)
        t1 = time.perf_counter()
        y = model.infer(x)
        t2 = time.perf_counter()
        item.times.update(preprocess=(t1 - t0) * 1e3, inference=(t2 - t1) * 1e3)
        if not post:
            item.raw, item.model = y, model
            return item
        item.stylized = model.postprocess(y, like=img)
        item.times["postprocess"] = _ms(t2)
        return item

    def _finish(self, item: _Item) -> np.ndarray:
        """Effects, temporal blend and mask compose: the output side, on the calling thread."""
        c = self.controls
        img = item.frame.image
        if item.raw is not None:
            t0 = time.perf_counter()
            item.stylized = item.model.postprocess(item.raw, like=img)
            item.times["postprocess"] = _ms(t0)
            item.raw = item.model = None
        if not item.motion_done:
            self._motion_side(item)
        if item.stylized is None:  # stylize off: the original goes out untouched
            return img
        out = item.stylized
        if c.strength < 1.0 or c.preserve_colors:
            from livestyle import effects

            t0 = time.perf_counter()
            if c.preserve_colors:
                out = effects.preserve_colors(img, out)
            if c.strength < 1.0:
                out = effects.mix(img, out, c.strength)
            item.times["effects"] = _ms(t0)
        if self.blender is not None and item.temporal:
            self._retune_blender(c.temporal_strength)
            t1 = time.perf_counter()
            out = self.blender.blend(out, item.motion)
            item.times["blend"] = _ms(t1)
        if c.mask != "none" and item.mask is not None:
            from livestyle.segment import compose

            t0 = time.perf_counter()
            out = compose(img, out, item.mask, c.mask)
            item.times["compose"] = _ms(t0)
        return out

    def _motion_side(self, item: _Item) -> None:
        """The blender's input side of a frame: resets (style change, stylize or blending off), the flow.

        It needs only input frames, so either thread may run it (``_placement``), but always in read order
        (``item.seq``): the flow prior and the previous grey frame chain from frame to frame. The output side
        needs no reset of its own: after a reset the motion is None and ``blend`` starts afresh.
        """
        with self._motion_turn:
            while self._motion_next != item.seq:
                if self._stopping.is_set():
                    return
                self._motion_turn.wait(_POLL_S)
        try:
            c = self.controls
            item.temporal = self.blender is not None and c.temporal
            if item.stylized is None and item.raw is None:  # stylize off
                self._reset_blender()
                return
            if not item.temporal:
                self._reset_blender()
            else:
                if item.style != self._last_style:  # a new style: do not smear the old one into it
                    self._reset_blender()
                t0 = time.perf_counter()
                item.motion = self.blender.estimate_motion(item.frame.image)
                item.times["flow"] = _ms(t0)
                self._blending = True
            self._last_style = item.style
        finally:
            item.motion_done = True
            with self._motion_turn:
                self._motion_next = item.seq + 1
                self._motion_turn.notify_all()

    def _placement(self) -> tuple[bool, bool]:
        """Balance the two threads: (postprocess on the output thread, flow on the inference thread).

        Running averages of each thread's own work (without the two movable stages) decide. The placement in
        use changes only for one whose slower thread is shorter by 0.5 ms and 3% or more, so stages do not
        flip between threads on noise. A lite model on a fast CPU makes the inference thread the slower one; a
        tiny model, heavy sinks or a slow CPU's full-size blend the output thread.
        """
        if not self.balance:
            return False, False
        w, m, p, f = self._load["infer"], self._load["output"], self._load["post"], self._load["flow"]

        def cost(post_out: bool, flow_in: bool) -> float:
            return max(w + (0.0 if post_out else p) + (f if flow_in else 0.0),
                       m + (p if post_out else 0.0) + (0.0 if flow_in else f))

        now = cost(*self._placed)
        best = min(((False, False), (True, False), (False, True), (True, True)), key=lambda pl: cost(*pl))
        if cost(*best) < now - max(0.5, 0.03 * now):
            self._placed = best
        return self._placed

    def _reset_blender(self) -> None:
        """Forget the past, from the motion side: only the blender's input side if it can (``reset_motion``),
        so a flow estimated a frame ahead on the inference thread never clears the previous output that the
        output thread's next blend still needs (after a reset the motion is None: the blend restarts)."""
        if self._blending and self.blender is not None:
            getattr(self.blender, "reset_motion", self.blender.reset)()
        self._blending = False

    def _retune_blender(self, strength: float) -> None:
        """Carry a new temporal strength into the blender (its config is frozen, so swap in a copy)."""
        if abs(strength - self._blend_strength) < 1e-9:
            return
        self._blend_strength = strength
        cfg = getattr(self.blender, "config", None)
        if cfg is not None and dataclasses.is_dataclass(cfg):
            try:
                self.blender.config = dataclasses.replace(cfg, strength=strength)
                return
            except (AttributeError, TypeError, dataclasses.FrozenInstanceError):
                pass
        if hasattr(self.blender, "strength"):
            self.blender.strength = strength

    def _emit(self, item: _Item, out: np.ndarray) -> None:
        """Write to every sink, drop broken ones, account the frame, poll preview actions."""
        frame = item.frame.with_image(out)
        t0 = time.perf_counter()
        for sink in list(self.sinks):
            try:
                sink.write(frame)
            except (SinkError, OSError) as exc:
                self._drop_sink(sink, exc)
        now = time.perf_counter()
        item.times["sink"] = (now - t0) * 1e3
        self._out_count += 1
        if self._out_count == 1:
            log.info("first frame out %.0f ms after start (%s)", (now - self._t_run) * 1e3,
                     "pipelined" if self.pipelined else "sequential")
        if self._out_count == self.warmup:
            self._t_start = now  # statistics start after the last warm-up frame
        elif self._out_count > self.warmup:
            self.stats.frames += 1
            self.stats.elapsed_s = now - self._t_start
            self.stats.add((now - item.frame.timestamp) * 1e3, item.times)
        if self.on_frame is not None:
            self.on_frame(frame)
        self._poll_actions()
        if not self.sinks:
            self._stop("sinks")
        elif self.max_frames is not None and self._out_count >= self.max_frames:
            self._stop("max_frames")

    def _drop_sink(self, sink: Any, exc: BaseException) -> None:
        name = _sink_name(sink)
        log.warning("sink %s failed and was removed: %s", name, exc)
        self.stats.failed_sinks.append(name)
        self.sinks.remove(sink)
        with contextlib.suppress(Exception):
            sink.close()

    def _poll_actions(self) -> None:
        for sink in self.sinks:
            poll = getattr(sink, "poll_action", None)
            if poll is None:
                continue
            action = poll()
            while action is not None:
                if action == "quit":
                    self._stop("quit")
                    return
                text = self.controls.apply(action)
                show = getattr(sink, "show_status", None)
                if text and show is not None:
                    show(text)
                action = poll()

    def _stop(self, reason: str) -> None:
        if not self._stopping.is_set():
            self.stats.stop_reason = reason
        self._halt.set()

    # ----------------------------------------------------------------------------------------------- loops

    def run(self) -> RunStats:
        """Run until the source ends, ``max_frames`` are out, every sink failed, or ``stop_event`` is set."""
        from livestyle.memory import keep_freed_buffers

        keep_freed_buffers()  # big per-frame buffers are recycled instead of page-faulted in again every frame
        self._t_start = self._t_run = time.perf_counter()
        try:
            if self.pipelined:
                self._run_pipelined()
            else:
                self._run_sequential()
        finally:
            self.stats.dropped = int(getattr(self.source, "dropped", 0) or 0)
            self.close()
        if self.stop_event.is_set() and self.stats.stop_reason == "end":  # set from outside (e.g. a signal)
            self.stats.stop_reason = "stopped"
        return self.stats

    def _run_sequential(self) -> None:
        t_cpu = time.thread_time()
        try:
            while not self._stopping.is_set():
                item = self._capture()
                if item is None:
                    break
                self._stylize(item)
                self._emit(item, self._finish(item))
        finally:
            self.thread_cpu_s["main"] = time.thread_time() - t_cpu

    def _run_pipelined(self) -> None:
        """Two or three threads: [capture ->] inference -> output.

        Each hand-off is gated by credits (``queue_size`` each) that are taken *before* a frame is read, so a frame
        is captured only when the next stage can take it soon: no frame ages in a queue, which keeps end-to-end
        latency near max(inference, output) + output instead of growing with every queued frame. Live sources already
        hand over their newest frame (the source's own reader thread overwrites one slot), so the inference thread
        reads them inline. ``prefetch`` adds a read-ahead thread for finite sources whose decoding is costly
        (``stylize``), trading one frame period of latency for throughput.
        """
        import cv2

        cv_threads, cv_before = pipelined_cv_threads(), cv2.getNumThreads()
        if cv_threads is not None:
            cv2.setNumThreads(cv_threads)
        try:
            self._run_pipelined_loops()
        finally:
            if cv_threads is not None:
                cv2.setNumThreads(cv_before)

    def _run_pipelined_loops(self) -> None:
        live = bool(getattr(self.source, "is_live", False))
        prefetch = self.prefetch and not live
        stop = self._stopping
        q_in: queue.SimpleQueue = queue.SimpleQueue()
        q_out: queue.SimpleQueue = queue.SimpleQueue()
        in_credits = threading.Semaphore(self.queue_size)
        out_credits = threading.Semaphore(self.queue_size)

        def acquire(sem: threading.Semaphore) -> bool:
            while not stop.is_set():
                if sem.acquire(timeout=_POLL_S):
                    return True
            return False

        def take(q: queue.SimpleQueue) -> Any:
            while not stop.is_set():
                try:
                    return q.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
            return None

        def guarded(fn: Callable[[], None], name: str) -> Callable[[], None]:
            def body() -> None:
                t_cpu = time.thread_time()
                try:
                    fn()
                except BaseException as exc:  # surfaced on the calling thread
                    self._errors.append(exc)
                    self._halt.set()
                finally:
                    self.thread_cpu_s[name] = time.thread_time() - t_cpu
            return body

        def read_one(n: int) -> Any:
            if not live and self.max_frames is not None and n >= self.max_frames:
                return _END
            item = self._capture()
            return _END if item is None else item

        def capture_loop() -> None:
            n = 0
            while acquire(in_credits):
                item = read_one(n)
                q_in.put(item)
                if item is _END:
                    return
                n += 1

        def infer_loop() -> None:
            n = 0
            while acquire(out_credits):
                t_busy = time.perf_counter()
                if prefetch:
                    item = take(q_in)
                    if item is None:
                        return
                    in_credits.release()
                else:
                    item = read_one(n)
                if item is _END:
                    q_out.put(_END)
                    return
                n += 1
                item.style = self.controls.style_index
                post_out, flow_here = self._placement()
                self.moved["post_on_output"] += post_out
                self.moved["flow_on_infer"] += flow_here
                self._stylize(item, post=not post_out)
                if flow_here:
                    t_wait = time.perf_counter()
                    with self._motion_turn:  # the previous frame's flow may still run on the output thread
                        while self._motion_next != item.seq and not stop.is_set():
                            self._motion_turn.wait(_POLL_S)
                    t_busy += time.perf_counter() - t_wait  # waiting is not work
                    self._motion_side(item)
                busy = _ms(t_busy) - (0.0 if post_out else item.times.get("postprocess", 0.0)) \
                    - (item.times.get("flow", 0.0) if flow_here else 0.0)
                self._load["infer"] += 0.1 * (busy - self._load["infer"])
                q_out.put(item)

        threads = [threading.Thread(target=guarded(infer_loop, "infer"), name="livestyle-infer", daemon=True)]
        if prefetch:
            threads.append(threading.Thread(target=guarded(capture_loop, "capture"), name="livestyle-capture",
                                            daemon=True))
        for t in threads:
            t.start()
        t_cpu = time.thread_time()
        try:
            while True:
                item = take(q_out)
                if item is None or item is _END:
                    break
                out_credits.release()  # the inference thread may read the next frame while this one finishes
                t_busy = time.perf_counter()
                post_here, flow_here = item.raw is not None, not item.motion_done
                self._emit(item, self._finish(item))
                post, flow = item.times.get("postprocess", 0.0), item.times.get("flow", 0.0)
                busy = _ms(t_busy) - (post if post_here else 0.0) - (flow if flow_here else 0.0)
                self._load["output"] += 0.1 * (busy - self._load["output"])
                if "postprocess" in item.times:
                    self._load["post"] += 0.1 * (post - self._load["post"])
                if "flow" in item.times:
                    self._load["flow"] += 0.1 * (flow - self._load["flow"])
        finally:
            self.thread_cpu_s["output"] = time.thread_time() - t_cpu
            log.debug("stopping the pipelined loop (%s)", "stop requested" if stop.is_set() else "source ended")
            self._halt.set()  # release the workers (a natural end is not a stop request)
            if live:  # a live read() may wait for the device: closing the source wakes it up at once
                try:
                    self.source.close()
                except Exception as exc:
                    log.warning("closing the source failed: %s", exc)
            t_join = time.perf_counter()
            for t in threads:
                t.join(timeout=1.0)
            log.debug("worker threads joined in %.0f ms", _ms(t_join))
            if self._errors:
                raise self._errors[0]

    # ----------------------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close every sink and the source; safe to call twice. Errors while closing are logged, not raised."""
        if self._closed:
            return
        self._closed = True
        t0 = time.perf_counter()
        for sink in self.sinks:
            failed = False
            try:
                sink.close()
            except Exception as exc:  # keep closing the others: their files must be finalised too
                log.warning("closing sink %s failed: %s", _sink_name(sink), exc)
                failed = True
            # a sink that failed while being finalised (e.g. an mp4 whose index could not be written) did not
            # deliver its output: the summary must not list it
            if (failed or getattr(sink, "failed", False)) and _sink_name(sink) not in self.stats.failed_sinks:
                self.stats.failed_sinks.append(_sink_name(sink))
        if self.sinks and all(_sink_name(s) in self.stats.failed_sinks for s in self.sinks):
            self.stats.stop_reason = "sinks"
        t1 = time.perf_counter()
        try:
            self.source.close()
        except Exception as exc:
            log.warning("closing the source failed: %s", exc)
        log.debug("closed sinks in %.0f ms, source in %.0f ms", (t1 - t0) * 1e3, _ms(t1))

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sink_name(sink: Any) -> str:
    """How a sink is named in the run statistics and the summary."""
    return str(getattr(sink, "name", type(sink).__name__))


# --------------------------------------------------------------------------------------------------- signals


class SignalStop:
    """Context manager: SIGINT/SIGTERM set ``event`` (the loop ends within a second); a second SIGINT raises
    KeyboardInterrupt for a user who really wants out. ``signum`` is the first signal received."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: Any) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()

    def __enter__(self) -> "SignalStop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


# --------------------------------------------------------------------------------------------------- building


class ImageFileSink:
    """Writes the (last) frame to one image file: ``livestyle stylize photo.jpg -o out.png``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"image:{self.path}"
        self.frames = 0

    def write(self, frame: Frame) -> None:
        import cv2

        if self.frames:
            raise SinkError(f"{self.path} is one image but the input has several frames: "
                            "write to a folder or an .mp4 instead")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(self.path), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise SinkError(f"could not write image {self.path}: check the extension and that the folder is writable")
        self.frames += 1

    def close(self) -> None:
        pass

    def __enter__(self) -> "ImageFileSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")


def _audio_source(spec: str | None) -> str | None:
    """The file to copy audio from: a file source that is a video."""
    if spec and Path(spec).suffix.lower() in VIDEO_EXTS and Path(spec).is_file():
        return spec
    return None


def load_stylizers(config: RunConfig) -> tuple[list[Any], list[str]]:
    """Load the main model and every ``styles`` model up front, so switching styles never stalls a frame."""
    from livestyle.stylize.backends import open_stylizer
    from livestyle.stylize.registry import default_model, find_model

    m = config.model
    names: list[str] = []
    if m.model is not None:
        names.append(m.model)
    names += [s for s in m.styles if s not in names]
    cards = [find_model(n) for n in names] if names else [default_model()]
    threads = m.threads if m.threads is not None else (1 if config.pipelined else None)
    models = [open_stylizer(card, backend=m.backend, device=m.device, size=m.size, scale=m.scale, threads=threads,
                            torch_mode=m.torch_mode) for card in cards]
    return models, [card.name for card in cards]


def prepare_stylizers(models: Sequence[Any], size: tuple[int, int] | None) -> None:
    """Let each stylizer that can do its one-time work for the source's frame size now, at load time."""
    if not size or min(size) <= 0:
        return
    for model in models:
        prepare = getattr(model, "prepare", None)
        if prepare is not None:
            prepare(int(size[0]), int(size[1]))


def build_pipeline(config: RunConfig, *, stop_event: threading.Event | None = None, warmup: int = 0,
                   on_frame: Callable[[Frame], None] | None = None, sinks: Sequence[Any] | None = None,
                   source: Any = None, stats_window: int = STATS_WINDOW) -> Pipeline:
    """Open the source, load the models and open the sinks that ``config`` names, then wire them.

    ``sinks``/``source`` replace the configured ones (the bench passes a null sink, ``stylize`` its own).
    Whatever was opened is closed again if a later step fails, so a bad sink spec leaves no half-written file.
    """
    from livestyle.capture.registry import default_source, open_source

    opened: list[Any] = []
    try:
        if source is None:
            spec = config.source.spec
            source = open_source(spec, size=config.source.size) if spec else default_source()
        opened.append(source)
        models, names = load_stylizers(config)
        prepare_stylizers(models, getattr(source, "size", None))
        from livestyle.temporal import TemporalBlender, TemporalConfig

        # Always build the blender (enabled), so the preview's temporal toggle can turn it on later.
        temporal_cfg = config.temporal if config.temporal is not None else TemporalConfig()
        temporal_on = bool(getattr(temporal_cfg, "enabled", True))
        blender = TemporalBlender(dataclasses.replace(temporal_cfg, enabled=True))
        def make_segmenter() -> Any:
            from livestyle.segment import PersonSegmenter

            return PersonSegmenter()

        segmenter = make_segmenter() if config.effects.mask != "none" else None
        if sinks is None:
            from livestyle.sinks.registry import default_sink_spec, open_sink

            specs = [str(s) for s in config.sinks.specs] or [default_sink_spec()]
            fps = float(getattr(source, "fps", 0.0) or 0.0) or 30.0
            sinks = []
            for s in specs:
                sink = open_sink(s, size=tuple(source.size), fps=fps, audio_from=_audio_source(config.source.spec),
                                 host=config.sinks.host, token=config.sinks.token)
                opened.append(sink)
                sinks.append(sink)
        return Pipeline(source, models, sinks, blender=blender, segmenter=segmenter, segmenter_factory=make_segmenter,
                        effects=config.effects,
                        temporal=temporal_on, pipelined=config.pipelined, max_frames=config.max_frames,
                        warmup=warmup, stop_event=stop_event, on_frame=on_frame, style_names=names,
                        prefetch=config.prefetch, stats_window=stats_window)
    except BaseException:
        for obj in reversed(opened):
            with contextlib.suppress(Exception):
                obj.close()
        raise


@contextlib.contextmanager
def stopping_on_signals(event: threading.Event) -> Iterator[SignalStop]:
    with SignalStop(event) as s:
        yield s


__all__ = ["Pipeline", "RunStats", "Controls", "SignalStop", "ImageFileSink", "build_pipeline", "load_stylizers",
           "stopping_on_signals", "STAGES", "LivestyleError"]
