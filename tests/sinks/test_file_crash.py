"""A recording cut short plays up to its last fragment: ``kill -9`` of a real ``livestyle run --sink file:...``,
and a file-size limit hit mid-run (what a full disk looks like to the writer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

if os.name != "posix":
    pytest.skip("SIGKILL and RLIMIT_FSIZE are POSIX", allow_module_level=True)
import resource  # noqa: E402  (POSIX only)

MP4_FRAGMENT = b"moof"
MKV_CLUSTER = bytes.fromhex("1F43B675")
FPS = 30  # the synth source's rate
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _run_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "livestyle", "run", "--source", "synth:320x240", "--sink", f"file:{out}",
            "--model", "starry_night-lite", "--max-frames", "100000", "--threads", "1"]


def decode_partial(path: Path) -> list[tuple[int, int]]:
    """(width, height) of every frame FFmpeg can decode; a torn last fragment ends decoding, not the test."""
    sizes = []
    with av.open(str(path)) as container:
        try:
            for frame in container.decode(video=0):
                sizes.append((frame.width, frame.height))
        except av.error.FFmpegError:
            pass  # the bytes after the last complete fragment
    return sizes


def _wait_for(path: Path, marker: bytes, count: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"livestyle run ended early: {proc.communicate()[1][-2000:]}"
        if path.is_file() and path.read_bytes().count(marker) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"{path} did not reach {count} fragments in {timeout:.0f} s")


@pytest.mark.parametrize("suffix, marker", [(".mp4", MP4_FRAGMENT), (".mkv", MKV_CLUSTER)])
def test_kill_9_leaves_a_playable_recording(tmp_path: Path, suffix: str, marker: bytes) -> None:
    out = tmp_path / f"rec{suffix}"
    proc = subprocess.Popen(_run_cmd(out), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)
    try:
        _wait_for(out, marker, 3, proc)  # about two seconds of video on disk
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    data = out.read_bytes()
    if suffix == ".mp4":
        assert b"mfra" not in data  # never finalised: the index at the end was not written
    sizes = decode_partial(out)
    assert len(sizes) >= FPS, f"only {len(sizes)} frames decodable from the killed recording"
    assert set(sizes) == {(320, 240)}


def test_full_disk_mid_run_keeps_what_was_written(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the writes past 400 kB fail with EFBIG, as a full disk fails them with ENOSPC."""
    out = tmp_path / "full.mp4"
    limit = 400_000

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**ENV, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc written under the limit
    proc = subprocess.run(_run_cmd(out), cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          preexec_fn=limit_file_size, env=env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert out.stat().st_size <= limit
    sizes = decode_partial(out)
    assert len(sizes) >= FPS // 2, f"only {len(sizes)} frames decodable after the write failed"
