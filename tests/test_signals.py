"""Stop cleanly: SIGTERM / SIGINT during `livestyle run` and `stylize` end the process within a second, and the
mp4 is finalised and playable with the frames written so far."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest

from tests.test_cli import _video

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, list[str]]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "livestyle", "-v", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    return proc, lines


def _wait_for_frames(proc: subprocess.Popen, lines: list[str], timeout: float = 30.0) -> None:
    """Wait for the pipeline's "first frame out" log line, then let it write a few more."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, (proc.communicate(), lines)
        if any("first frame out" in ln for ln in lines):
            time.sleep(0.5)
            return
        time.sleep(0.05)
    pytest.fail(f"no frames written in time: {lines}")


def _stop(proc: subprocess.Popen, lines: list[str], sig: int) -> tuple[float, str, str]:
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - t0
    out = proc.stdout.read()
    time.sleep(0.1)
    return took, out, "".join(lines)


def _frames(path: Path) -> int:
    with av.open(str(path)) as f:
        return sum(1 for _ in f.decode(video=0))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_within_a_second_and_finalises_the_file(sig: int, tmp_path: Path, fixtures_dir: Path) -> None:
    out = tmp_path / "live.mp4"
    proc = _start(["run", "--source", "synth:160x120", "--model", str(fixtures_dir / "tiny-test.json"),
                   "--sink", f"file:{out}"], tmp_path)
    _wait_for_frames(*proc)
    took, stdout, stderr = _stop(*proc, sig)
    proc = proc[0]
    assert took < 1.0, (took, stderr)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    summary = stdout.strip().splitlines()[-1]
    assert summary.startswith("livestyle: ") and "FPS" in summary
    written = int(summary.split()[1])
    assert written > 0 and _frames(out) == written


def test_stylize_interrupted_exits_130_with_a_playable_file(tmp_path: Path, fixtures_dir: Path) -> None:
    clip = _video(tmp_path / "long.mp4", n=300, w=160, h=120)
    out = tmp_path / "styled.mp4"
    proc = _start(["stylize", str(clip), "-o", str(out), "--model", str(fixtures_dir / "tiny-test.json"),
                   "--no-progress", "--scale", "2"], tmp_path)  # 2x processing size: slow enough to interrupt
    _wait_for_frames(*proc)
    took, stdout, stderr = _stop(*proc, signal.SIGINT)
    proc = proc[0]
    assert took < 1.0 and proc.returncode == 130, (took, stderr)
    n = _frames(out)
    assert 0 < n < 300
