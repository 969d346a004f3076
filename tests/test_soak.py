"""Long runs: resident memory stays flat after warm-up and no thread outlives the pipeline (tools/soak.py).

The 20,000-frame soak is marked slow (opt-in: ``pytest -m slow tests/test_soak.py``); a 600-frame version and a
repeated build/run/close check run in the default suite. Each soak runs in a fresh process so pytest's own memory
does not blur the figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO


def _soak(tmp_path: Path, *args: str, timeout: float) -> dict:
    out = tmp_path / "soak.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "tools.soak", "--quiet", "--json", str(out), *args], cwd=REPO,
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert out.is_file(), r.stderr
    data = json.loads(out.read_text())
    data["_rc"], data["_stdout"], data["_stderr"] = r.returncode, r.stdout, r.stderr
    return data


def _check_threads(data: dict) -> None:
    assert data["leaked_threads"] == [], data["leaked_threads"]
    assert data["py_threads_after_close"] == data["py_threads_before"], data
    assert data["os_threads_end"] <= data["os_threads_warm"], data  # no native pool grew during the run


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_soak_20000_frames_memory_flat_no_leaked_threads(tmp_path: Path) -> None:
    data = _soak(tmp_path, "--frames", "20000", "--warmup", "500", "--size", "320x240", timeout=1400)
    print(data["_stdout"])
    assert data["frames"] == 20000
    assert data["growth_mb"] < 30.0, data["_stdout"]
    assert data["late_growth_mb"] < 10.0, data["_stdout"]  # levelled off: bounded buffers, not a leak
    _check_threads(data)
    assert data["_rc"] == 0, data["_stderr"]


def test_short_soak_is_flat(tmp_path: Path) -> None:
    data = _soak(tmp_path, "--frames", "600", "--warmup", "150", "--every", "150", "--size", "160x120",
                 timeout=120)
    assert data["frames"] == 600 and data["_rc"] == 0, data["_stderr"]
    assert data["growth_mb"] < 8.0, data["_stdout"]  # 450 frames: a leak of a frame per frame would be ~26 MB
    _check_threads(data)


def test_repeated_runs_leave_no_threads_behind() -> None:
    """Build, run and close the pipeline (pipelined, prefetch, sequential) again and again: back to the start."""
    from livestyle.config import ModelConfig, RunConfig, SourceConfig
    from livestyle.pipeline import build_pipeline

    class Null:
        name = "null"

        def write(self, frame: object) -> None:
            pass

        def close(self) -> None:
            pass

    before = {t.ident for t in threading.enumerate()}
    for pipelined, prefetch in [(True, False), (True, True), (False, False)] * 2:
        cfg = RunConfig(source=SourceConfig("synth:64x48"), model=ModelConfig(model=str(FIXTURES / "tiny-test.json")),
                        max_frames=8, pipelined=pipelined, prefetch=prefetch)
        stats = build_pipeline(cfg, sinks=[Null()]).run()
        assert stats.frames == 8
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and {t.ident for t in threading.enumerate()} - before:
        time.sleep(0.05)
    assert {t.name for t in threading.enumerate() if t.ident not in before} == set()


def test_run_statistics_do_not_grow_with_the_run() -> None:
    """A live filter runs for hours: what the pipeline keeps per frame must be bounded, not a list of every frame."""
    import tracemalloc

    import numpy as np

    from livestyle.frames import Frame
    from livestyle.pipeline import Pipeline

    class Endless:
        is_live, dropped, fps, size = False, 0, 30.0, (8, 8)

        def __init__(self) -> None:
            self.n, self.image = 0, np.zeros((8, 8, 3), np.uint8)

        def read(self) -> Frame:
            self.n += 1
            return Frame(self.image, self.n, time.perf_counter())

        def close(self) -> None:
            pass

    class Same:
        def preprocess(self, rgb):  # noqa: ANN001, ANN201
            return rgb

        def infer(self, x):  # noqa: ANN001, ANN201
            return x

        def postprocess(self, y, like):  # noqa: ANN001, ANN201
            return like

    class Null:
        name = "null"

        def write(self, frame: object) -> None:
            pass

        def close(self) -> None:
            pass

    marks: dict[int, int] = {}
    pipe = Pipeline(Endless(), [Same()], [Null()], pipelined=False, max_frames=25_000)

    def on_frame(frame: Frame) -> None:
        n = pipe._out_count
        if n in (12_000, 25_000):
            marks[n] = sum(s.size for s in tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, "*livestyle*")]).statistics("filename"))

    pipe.on_frame = on_frame
    tracemalloc.start()
    try:
        pipe.run()
    finally:
        tracemalloc.stop()
    growth = marks[25_000] - marks[12_000]
    assert growth < 300_000, f"{growth / 13_000:.0f} bytes kept per frame (a window of <= 10,000 frames is fine)"
