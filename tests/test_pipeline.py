"""Pipeline wiring with small fakes that follow the protocols (plus one run with the real stylizer and blender)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import numpy as np
import pytest

from livestyle.config import EffectsConfig
from livestyle.errors import ModelError, SinkError
from livestyle.frames import Frame
from livestyle.pipeline import Controls, Pipeline


class FakeSource:
    def __init__(self, n: int | None = 10, size: tuple[int, int] = (32, 24), live: bool = False,
                 delay: float = 0.0) -> None:
        self.n, self._size, self.is_live, self.delay = n, size, live, delay
        self.i = 0
        self.closed = 0
        self.dropped = 0

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return 30.0

    def read(self) -> Frame | None:
        if self.n is not None and self.i >= self.n:
            return None
        if self.delay:
            time.sleep(self.delay)
        w, h = self._size
        img = np.full((h, w, 3), self.i % 256, np.uint8)
        self.i += 1
        return Frame(img, self.i - 1)

    def close(self) -> None:
        self.closed += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeStylizer:
    """Inverts the image; optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None, offset: int = 0) -> None:
        self.delay, self.fail_at, self.offset, self.calls = delay, fail_at, offset, 0

    def preprocess(self, rgb):
        return rgb.astype(np.float32)

    def infer(self, x):
        self.calls += 1
        if self.fail_at is not None and self.calls > self.fail_at:
            raise ModelError("fake model broke")
        if self.delay:
            time.sleep(self.delay)
        return (255.0 - x + self.offset) % 256

    def postprocess(self, y, like):
        return y.astype(np.uint8)


class FakeSink:
    def __init__(self, name: str = "fake", fail_after: int | None = None, actions=()) -> None:
        self.name, self.fail_after = name, fail_after
        self.frames: list[Frame] = []
        self.closed = 0
        self.actions = list(actions)
        self.status: list[str] = []

    def write(self, frame: Frame) -> None:
        if self.fail_after is not None and len(self.frames) >= self.fail_after:
            raise SinkError(f"{self.name}: disk full")
        self.frames.append(frame)

    def close(self) -> None:
        self.closed += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakePreview(FakeSink):
    def poll_action(self):
        return self.actions.pop(0) if self.actions else None

    def show_status(self, text: str) -> None:
        self.status.append(text)


@dataclasses.dataclass(frozen=True)
class FakeTemporalConfig:
    enabled: bool = True
    strength: float = 0.7


class FakeBlender:
    def __init__(self) -> None:
        self.config = FakeTemporalConfig()
        self.resets = 0
        self.motions = 0
        self.blends = 0

    def reset(self) -> None:
        self.resets += 1

    def estimate_motion(self, img):
        self.motions += 1
        return "motion"

    def blend(self, out, motion):
        self.blends += 1
        return out


@pytest.mark.parametrize("pipelined", [False, True])
def test_every_frame_in_order_with_timings(pipelined: bool) -> None:
    src, sink = FakeSource(12), FakeSink()
    stats = Pipeline(src, [FakeStylizer()], [sink], blender=FakeBlender(), pipelined=pipelined).run()
    assert [f.index for f in sink.frames] == list(range(12))
    assert all(int(f.image[0, 0, 0]) == 255 - f.index for f in sink.frames)
    assert stats.frames == 12 and stats.stop_reason == "end" and stats.fps > 0
    assert {"capture", "preprocess", "inference", "postprocess", "flow", "blend", "sink"} <= set(stats.stages)
    assert len(stats.latencies_ms) == 12 and min(stats.latencies_ms) >= 0
    assert src.closed == 1 and sink.closed == 1


@pytest.mark.parametrize("pipelined", [False, True])
def test_warmup_and_max_frames(pipelined: bool) -> None:
    src, sink = FakeSource(None), FakeSink()
    stats = Pipeline(src, [FakeStylizer()], [sink], pipelined=pipelined, max_frames=9, warmup=4).run()
    assert len(sink.frames) == 9 and stats.frames == 5 and stats.stop_reason == "max_frames"
    assert all(len(v) == 5 for v in stats.stages.values())


@pytest.mark.parametrize("pipelined", [False, True])
def test_failing_sink_is_reported_once_and_removed(pipelined: bool, caplog) -> None:
    good, bad = FakeSink("good"), FakeSink("bad", fail_after=3)
    with caplog.at_level(logging.WARNING, logger="livestyle.pipeline"):
        stats = Pipeline(FakeSource(10), [FakeStylizer()], [bad, good], pipelined=pipelined).run()
    assert len(good.frames) == 10 and len(bad.frames) == 3
    assert stats.failed_sinks == ["bad"] and bad.closed >= 1 and good.closed == 1
    assert sum("bad" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("pipelined", [False, True])
def test_all_sinks_failing_stops_the_run(pipelined: bool) -> None:
    src = FakeSource(None)
    stats = Pipeline(src, [FakeStylizer()], [FakeSink("a", fail_after=2), FakeSink("b", fail_after=0)],
                     pipelined=pipelined).run()
    assert stats.stop_reason == "sinks" and sorted(stats.failed_sinks) == ["a", "b"] and src.closed == 1


@pytest.mark.parametrize("pipelined", [False, True])
def test_stop_event_ends_an_endless_run_within_a_second(pipelined: bool) -> None:
    stop = threading.Event()
    src, sink = FakeSource(None, delay=0.005), FakeSink()
    pipe = Pipeline(src, [FakeStylizer(delay=0.01)], [sink], pipelined=pipelined, stop_event=stop)
    threading.Timer(0.3, stop.set).start()
    t0 = time.perf_counter()
    stats = pipe.run()
    stopped_after = time.perf_counter() - t0 - 0.3
    assert stopped_after < 1.0
    assert stats.stop_reason == "stopped" and sink.closed == 1 and src.closed == 1 and len(sink.frames) > 3
    assert not [t for t in threading.enumerate() if t.name.startswith("livestyle-")]


@pytest.mark.parametrize("prefetch", [False, True])
def test_file_source_backpressure_drops_nothing(prefetch: bool) -> None:
    sink = FakeSink()
    pipe = Pipeline(FakeSource(30), [FakeStylizer(delay=0.005)], [sink], pipelined=True, prefetch=prefetch,
                    max_frames=25)
    stats = pipe.run()
    assert [f.index for f in sink.frames] == list(range(25)) and stats.dropped == 0


def test_pipelined_overlaps_inference_with_output() -> None:
    """Inference and output each take ~20 ms: run in two threads, a frame takes ~20 ms, not ~40 ms."""

    class SlowSink(FakeSink):
        def write(self, frame):
            time.sleep(0.02)
            super().write(frame)

    stats = {}
    for pipelined in (False, True):
        stats[pipelined] = Pipeline(FakeSource(15), [FakeStylizer(delay=0.02)], [SlowSink()], pipelined=pipelined,
                                    warmup=3).run()
    assert stats[True].fps > 1.4 * stats[False].fps
    # a frame is read only when the inference thread can take it: latency stays near two stage times
    assert stats[True].latency()["p50"] < 75


@pytest.mark.parametrize("pipelined", [False, True])
def test_worker_error_surfaces_and_everything_is_closed(pipelined: bool) -> None:
    src, sink = FakeSource(None), FakeSink()
    with pytest.raises(ModelError, match="fake model broke"):
        Pipeline(src, [FakeStylizer(fail_at=3)], [sink], pipelined=pipelined).run()
    assert src.closed == 1 and sink.closed == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("livestyle-") and t.is_alive()]


def test_controls_apply() -> None:
    c = Controls(n_styles=3, style_names=("a", "b", "c"))
    assert c.apply("prev_style") == "style 3/3: c" and c.style_index == 2
    assert c.apply("next_style") == "style 1/3: a"
    for _ in range(3):
        c.apply("strength_up")
    assert c.strength == 1.0
    c.apply("strength_down")
    assert c.strength == pytest.approx(0.9)
    assert [c.apply("next_mask") for _ in range(3)] == ["mask background", "mask person", "mask none"]
    assert c.apply("toggle_stylize") == "stylize off" and not c.stylize
    assert c.apply("quit") is None and c.apply("nonsense") is None


def test_preview_actions_switch_style_toggle_and_quit() -> None:
    blender = FakeBlender()
    preview = FakePreview("preview", actions=["next_style"])
    pipe = Pipeline(FakeSource(None), [FakeStylizer(), FakeStylizer(offset=100)], [preview], blender=blender,
                    pipelined=False, style_names=("inv", "shift"))
    pipe.on_frame = lambda f: preview.actions.extend(
        {2: ["toggle_stylize"], 3: ["toggle_stylize", "temporal_up"], 5: ["quit"]}.get(f.index, []))
    stats = pipe.run()
    px = [int(f.image[0, 0, 0]) for f in preview.frames]
    assert px[0] == 255  # frame 0, style 0
    assert px[1] == (255 - 1 + 100) % 256  # switched after frame 0
    assert px[3] == 3  # stylize off: the original
    assert stats.stop_reason == "quit" and len(preview.frames) == 6
    assert preview.status[0] == "style 2/2: shift" and "temporal strength 0.8" in preview.status
    assert blender.config.strength == pytest.approx(0.8)  # frozen config swapped for a copy
    assert blender.resets >= 2  # style switch and stylize-off both forget the past


def test_temporal_off_skips_the_blender() -> None:
    blender = FakeBlender()
    Pipeline(FakeSource(5), [FakeStylizer()], [FakeSink()], blender=blender, temporal=False).run()
    assert blender.motions == 0 and blender.blends == 0


def test_effects_are_applied_when_asked() -> None:
    pytest.importorskip("livestyle.effects")
    sink = FakeSink()
    Pipeline(FakeSource(3), [FakeStylizer()], [sink], effects=EffectsConfig(strength=0.0), pipelined=False).run()
    assert all(np.array_equal(f.image, np.full_like(f.image, f.index)) for f in sink.frames)


def test_real_stylizer_and_blender(fixtures_dir) -> None:
    from livestyle.stylize import Stylizer
    from livestyle.temporal import TemporalBlender, TemporalConfig

    model = Stylizer(fixtures_dir / "tiny-test.json", device="cpu", threads=1)
    sink = FakeSink()
    stats = Pipeline(FakeSource(6, size=(64, 48)), [model], [sink], blender=TemporalBlender(TemporalConfig()),
                     pipelined=True).run()
    assert len(sink.frames) == 6 and sink.frames[0].image.shape == (48, 64, 3)
    assert sink.frames[0].image.dtype == np.uint8 and "flow" in stats.stages


class StalledCamera(FakeSource):
    """A live source whose device stops delivering: read() waits until close(), like LiveReader."""

    def __init__(self) -> None:
        super().__init__(None, live=True)
        self._closed = threading.Event()

    def read(self):
        if self.i >= 3:
            self._closed.wait(10.0)
            return None
        return super().read()

    def close(self) -> None:
        super().close()
        self._closed.set()


def test_stop_wakes_a_stalled_live_source_within_a_second() -> None:
    stop = threading.Event()
    src, sink = StalledCamera(), FakeSink()
    pipe = Pipeline(src, [FakeStylizer()], [sink], pipelined=True, stop_event=stop)
    threading.Timer(0.3, stop.set).start()
    t0 = time.perf_counter()
    stats = pipe.run()
    assert time.perf_counter() - t0 < 1.3 and stats.stop_reason == "stopped"
    assert len(sink.frames) == 3 and sink.closed == 1 and src.closed >= 1


def test_pipelined_output_equals_sequential_output(fixtures_dir) -> None:
    """The optimised path computes the same frames as the reference path (so quality and warping error match)."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize import Stylizer
    from livestyle.temporal import TemporalBlender, TemporalConfig

    outs = {}
    for pipelined in (False, True):
        sink = FakeSink()
        model = Stylizer(fixtures_dir / "tiny-test.json", device="cpu", threads=1, scale=0.5)
        Pipeline(open_source("synth:96x64"), [model], [sink], blender=TemporalBlender(TemporalConfig()),
                 pipelined=pipelined, max_frames=12).run()
        outs[pipelined] = [f.image for f in sink.frames]
    assert len(outs[True]) == len(outs[False]) == 12
    assert all(np.array_equal(a, b) for a, b in zip(outs[False], outs[True]))


def test_mask_key_loads_the_segmenter_on_first_use() -> None:
    made = []

    def factory():
        made.append(1)
        return lambda img: np.ones(img.shape[:2], np.float32)

    preview = FakePreview("preview")
    pipe = Pipeline(FakeSource(6), [FakeStylizer()], [preview], pipelined=False, segmenter_factory=factory)
    pipe.on_frame = lambda f: preview.actions.extend(["next_mask"] if f.index == 2 else [])
    stats = pipe.run()
    assert made == [1] and preview.status == ["mask background"]
    assert len(stats.stages["mask"]) == 3  # frames 3, 4, 5


def test_run_stats_keep_a_bounded_window() -> None:
    pipe = Pipeline(FakeSource(None, size=(8, 8)), [FakeStylizer()], [FakeSink()], pipelined=False, max_frames=300,
                    stats_window=100)
    pipe.sinks[0].write = lambda f: None  # keep no frames in the fake sink either
    stats = pipe.run()
    assert stats.frames == 300 and len(stats.latencies_ms) == 100
    assert all(len(v) == 100 for v in stats.stages.values())


SWITCHING = [(False, False), (True, True), (False, True), (True, False), (False, True)]


@pytest.mark.parametrize("placements", [[(False, True)], [(True, True)], SWITCHING])
def test_flow_on_either_thread_gives_the_sequential_output(fixtures_dir, placements) -> None:
    """Motion estimated on the inference thread (always, or switching thread frame by frame) keeps the
    blender's flow chain in frame order: the frames are bit-identical to the sequential reference."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize import Stylizer
    from livestyle.temporal import TemporalBlender, TemporalConfig

    class SlowFlow(TemporalBlender):
        """Slow enough that a flow left to the output thread overlaps the next one on the inference thread."""

        def estimate_motion(self, frame_rgb):
            calls.append(frame_rgb.tobytes())
            time.sleep(0.01)
            return super().estimate_motion(frame_rgb)

    outs, flows_on_infer, calls = {}, [], []
    for pipelined in (False, True):
        sink = FakeSink()
        model = Stylizer(fixtures_dir / "tiny-test.json", device="cpu", threads=1, scale=0.5)
        pipe = Pipeline(open_source("synth:96x64"), [model], [sink], blender=SlowFlow(TemporalConfig()),
                        pipelined=pipelined, max_frames=14)
        if pipelined:
            n_calls = iter(range(10_000))

            def place() -> tuple[bool, bool]:
                p = placements[next(n_calls) % len(placements)]
                flows_on_infer.append(p[1])
                return p

            pipe._placement = place  # type: ignore[method-assign]
        pipe.run()
        outs[pipelined] = [f.image for f in sink.frames]
    assert len(outs[True]) == len(outs[False]) == 14 and any(flows_on_infer)
    assert calls[:len(calls) // 2] == calls[len(calls) // 2:]  # the same frames in the same order
    assert all(np.array_equal(a, b) for a, b in zip(outs[False], outs[True]))


def test_placement_moves_the_flow_to_the_idle_thread() -> None:
    pipe = Pipeline(FakeSource(1), [FakeStylizer()], [FakeSink()])
    pipe._load.update(infer=10.4, output=10.0, post=1.0, flow=0.0)
    assert pipe._placement() == (False, False)  # 11.4 -> 11.0 by moving postprocess: within the noise margin
    pipe._load.update(infer=30.0, output=30.0, post=9.0, flow=13.0)
    assert pipe._placement() == (False, False)  # 39 / 43: moving either stage makes the other thread slower
    pipe._load.update(infer=15.0, output=20.0, post=4.0, flow=6.0)
    assert pipe._placement() == (True, True)  # 19 / 26 -> 21 / 24 (flow alone moved: 25 / 20)
    pipe._load.update(infer=5.0, output=20.0, post=4.0, flow=6.0)
    assert pipe._placement() == (False, True)  # 9 / 26 -> 15 / 20 (both moved: 11 / 24)
    pipe._load.update(infer=30.0, output=5.0, post=9.0, flow=3.0)
    assert pipe._placement() == (True, False)  # 39 / 8 -> 30 / 17
    pipe.balance = False
    assert pipe._placement() == (False, False)


def test_a_cut_seen_a_frame_ahead_does_not_unblend_the_frame_before(fixtures_dir) -> None:
    """Flow on the inference thread runs a frame ahead of the blend: a scene cut (or reset) found there must
    not clear the previous output the output thread's next blend still needs. Bit-identical to sequential."""
    from livestyle.capture.registry import open_source
    from livestyle.stylize import Stylizer
    from livestyle.temporal import TemporalBlender, TemporalConfig

    synth = open_source("synth:96x64")
    frames = [synth.read().image for _ in range(6)]
    synth.close()
    noise = np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    frames += [np.roll(noise, i, axis=1) for i in range(6)]  # a cut at frame 6, then a pan

    class ListSource(FakeSource):
        def read(self):
            if self.i >= len(frames):
                return None
            self.i += 1
            return Frame(frames[self.i - 1], self.i - 1)

    class SlowBlend(TemporalBlender):
        def blend(self, stylized_rgb, motion):
            time.sleep(0.03)  # the inference thread reads and estimates the next frame meanwhile
            return super().blend(stylized_rgb, motion)

    outs, blenders = {}, {}
    for pipelined in (False, True):
        sink = FakeSink()
        model = Stylizer(fixtures_dir / "tiny-test.json", device="cpu", threads=1, scale=0.5)
        blenders[pipelined] = SlowBlend(TemporalConfig())
        pipe = Pipeline(ListSource(len(frames), size=(96, 64)), [model], [sink], blender=blenders[pipelined],
                        pipelined=pipelined)
        pipe._placement = lambda: (False, True)  # type: ignore[method-assign]
        pipe.run()
        outs[pipelined] = [f.image for f in sink.frames]
    assert blenders[False].cuts == blenders[True].cuts == 1
    assert len(outs[True]) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(outs[False], outs[True]))


def test_opencv_runs_single_threaded_when_the_pipeline_fills_two_cores(monkeypatch) -> None:
    import os

    import cv2

    from livestyle.pipeline import pipelined_cv_threads

    monkeypatch.delenv("LIVESTYLE_CV_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert pipelined_cv_threads() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert pipelined_cv_threads() is None  # spare cores: OpenCV keeps its own choice
    monkeypatch.setenv("LIVESTYLE_CV_THREADS", "3")
    assert pipelined_cv_threads() == 3

    seen = []

    class CvSink(FakeSink):
        def write(self, frame):
            seen.append(cv2.getNumThreads())
            super().write(frame)

    monkeypatch.setenv("LIVESTYLE_CV_THREADS", "1")
    before = cv2.getNumThreads()
    Pipeline(FakeSource(4), [FakeStylizer()], [CvSink()], pipelined=True).run()
    assert seen and set(seen) == {1}
    assert cv2.getNumThreads() == before  # restored for whatever runs next in the process
