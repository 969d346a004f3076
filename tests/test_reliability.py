"""Faults end to end through the command line: a lost camera, failing outputs, stopping with a stream and a folder
open, and the stream's access rules as a user meets them.

The units have their own tests (tests/capture: reader back-off; tests/sinks: each sink's failure; tests/test_pipeline:
sink removal with fakes; tests/test_signals.py: SIGTERM/SIGINT with an mp4). These run the real ``livestyle`` entry
point, in-process where a device has to be faked (monkeypatch) and as a subprocess where signals and ports matter.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from livestyle.cli import main
from tests.conftest import FIXTURES, REPO

TINY = str(FIXTURES / "tiny-test.json")
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _folder_frames(folder: Path) -> list[np.ndarray]:
    """Every PNG in ``folder`` in name order, as RGB (each must decode: a half-written file fails here)."""
    images = []
    for p in sorted(folder.glob("*.png")):
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        assert bgr is not None, f"{p} is not a readable PNG"
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return images


def _warnings(err: str, needle: str) -> int:
    return sum(needle in ln for ln in err.splitlines())


# ------------------------------------------------------------------------------------------------ 1. lost camera


class DyingCamera:
    """Stands in for ``cv2.VideoCapture``: a 100 FPS camera that dies after ``fail_after`` frames and refuses the next
    ``failed_opens`` reopens (unplugged, then plugged back in). Frame k carries k in its pixels (B = k % 256,
    G = k // 256 in BGR), so the output tells live frames from repeated ones."""

    fail_after = 10
    failed_opens = 1
    opens = 0
    delivered = 0
    lock = threading.Lock()

    def __init__(self, *args: object) -> None:
        cls = type(self)
        with cls.lock:
            cls.opens += 1
            self.ok = cls.opens == 1 or cls.failed_opens <= 0
            if cls.opens > 1 and cls.failed_opens > 0:
                cls.failed_opens -= 1

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.ok

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 100.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        cls = type(self)
        time.sleep(0.01)
        if not self.ok:
            return False, None
        if cls.fail_after is not None and cls.delivered >= cls.fail_after:
            cls.fail_after = None  # dies once
            self.ok = False
            return False, None
        cls.delivered += 1
        image = np.zeros((24, 32, 3), np.uint8)
        image[..., 0] = cls.delivered % 256
        image[..., 1] = cls.delivered // 256
        return True, image

    def release(self) -> None:
        self.ok = False


def _counter(rgb: np.ndarray) -> int:
    return int(rgb[0, 0, 2]) + 256 * int(rgb[0, 0, 1])


def test_lost_camera_through_run_keeps_the_output_going(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    cam = type("Cam", (DyingCamera,), {"fail_after": 10, "failed_opens": 1, "opens": 0, "delivered": 0})
    monkeypatch.setattr(cv2, "VideoCapture", cam)
    out = tmp_path / "frames"
    # strength 0 and no temporal blending: each output frame is its input frame, so the counter can be read back.
    code = main(["run", "--source", "0", "--model", TINY, "--strength", "0", "--no-temporal", "--max-frames", "120",
                 "--sink", f"folder:{out}"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    seen = [_counter(img) for img in _folder_frames(out)]
    assert len(seen) == 120  # no gap in the output while the camera was away
    last_good = 10
    assert last_good in seen
    first = seen.index(last_good)
    repeats = sum(1 for v in seen if v == last_good)
    assert repeats >= 3, seen  # the last good frame held the output while the device was reopened
    after = seen[first + repeats:]
    assert after and all(v > last_good for v in after), seen  # then live frames again
    assert after == sorted(after), seen  # live frames in order
    assert cam.opens >= 3  # the first open, a refused reopen, the one that worked
    assert _warnings(err, "lost") == 1, err  # reported once, not every frame
    assert _warnings(err, "is back") == 1, err


# ------------------------------------------------------------------------------------------------ 7. failing sinks


class _FullDisk:
    """Wraps a PyAV output container: ``mux`` fails with ENOSPC after ``ok_packets`` packets, like a full disk."""

    def __init__(self, container: Any, ok_packets: int) -> None:
        self._c, self._left = container, ok_packets

    def mux(self, packet: Any) -> None:
        if self._left <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= 1
        self._c.mux(packet)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)


def _full_disk(monkeypatch: pytest.MonkeyPatch, ok_packets: int = 2) -> None:
    import livestyle.sinks.file as file_sink

    real_open = file_sink.av.open

    def open_(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        c = real_open(path, mode, *args, **kwargs)
        return _FullDisk(c, ok_packets) if mode == "w" else c

    monkeypatch.setattr(file_sink.av, "open", open_)


def test_disk_full_file_sink_is_dropped_once_and_the_folder_keeps_going(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _full_disk(monkeypatch)
    out = tmp_path / "frames"
    code = main(["run", "--source", "synth:64x48", "--model", TINY, "--max-frames", "40",
                 "--sink", f"file:{tmp_path / 'full.mp4'}", "--sink", f"folder:{out}"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert _warnings(captured.err, "failed and was removed") == 1, captured.err
    assert "No space left on device" in captured.err and "free disk space" in captured.err
    assert len(_folder_frames(out)) == 40  # the other sink got every frame
    summary = captured.out.strip().splitlines()[-1]
    assert str(out) in summary and "full.mp4" not in summary  # the summary lists only the outputs that worked


def test_every_output_failing_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _full_disk(monkeypatch)
    code = main(["run", "--source", "synth:64x48", "--model", TINY, "--sink", f"file:{tmp_path / 'full.mp4'}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("livestyle: error: every output failed"), err


class _FakeCamera:
    """A pyvirtualcam.Camera whose device disappears after ``ok_frames`` frames (the loopback module unloaded)."""

    ok_frames = 5
    sent = 0
    closed = 0

    def __init__(self, width: int, height: int, fps: float, **kwargs: Any) -> None:
        self.device = "/dev/video9"

    def send(self, frame: np.ndarray) -> None:
        cls = type(self)
        if cls.sent >= cls.ok_frames:
            raise RuntimeError("VIDIOC_QBUF: No such device")
        cls.sent += 1

    def close(self) -> None:
        type(self).closed += 1


def test_virtual_camera_that_closes_is_dropped_and_the_others_go_on(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = types.ModuleType("pyvirtualcam")
    fake.Camera = type("Cam", (_FakeCamera,), {"sent": 0, "closed": 0})  # type: ignore[attr-defined]
    fake.PixelFormat = types.SimpleNamespace(RGB="rgb")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    out = tmp_path / "frames"
    code = main(["run", "--source", "synth:64x48", "--model", TINY, "--max-frames", "30", "--sink", "vcam",
                 "--sink", f"folder:{out}"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert fake.Camera.sent == 5 and fake.Camera.closed == 1  # released once, not left open
    assert _warnings(err, "failed and was removed") == 1 and "/dev/video9 stopped" in err, err
    assert len(_folder_frames(out)) == 30


# ------------------------------------------------------------------------------------------------ subprocess helpers


class Proc:
    """``livestyle -v ...`` in a subprocess; stdout and stderr collected on threads (stdout lines with the time they
    arrived) so the log can be watched and the stop timed."""

    def __init__(self, args: list[str], cwd: Path, pythonpath: tuple[Path, ...] = ()) -> None:
        path = os.pathsep.join(str(p) for p in (*pythonpath, REPO))
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", PYTHONPATH=path)
        self.p = subprocess.Popen([sys.executable, "-m", "livestyle", "-v", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
        self.lines: list[str] = []
        self.out: list[tuple[float, str]] = []
        threading.Thread(target=lambda: self.lines.extend(iter(self.p.stderr.readline, "")), daemon=True).start()
        threading.Thread(target=lambda: self.out.extend((time.monotonic(), ln) for ln in
                                                        iter(self.p.stdout.readline, "")), daemon=True).start()

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ln in list(self.lines):
                m = re.search(pattern, ln)
                if m:
                    return m
            assert self.p.poll() is None, (self.p.returncode, self.lines)
            time.sleep(0.05)
        pytest.fail(f"no {pattern!r} in time: {self.lines}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[float, str]:
        """Send ``sig``; return the seconds until the run had stopped (loop ended, outputs closed, summary printed)
        and stdout. Interpreter teardown after the summary is not ours to bound tightly: the exit gets 5 s."""
        t0 = time.monotonic()
        self.p.send_signal(sig)
        try:
            self.p.wait(timeout=10)
        finally:
            self.p.kill()
        exited = time.monotonic() - t0
        time.sleep(0.1)  # let the reader thread take the last lines
        summary = [t for t, ln in self.out if t >= t0 and re.match(r"livestyle: \d+ frames in", ln)]
        assert summary, (self.out, self.lines)
        assert exited < 5.0, (exited, self.lines)
        return summary[0] - t0, "".join(ln for _, ln in self.out)

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def _stream_url(proc: Proc) -> tuple[str, int]:
    m = proc.wait_for(r"MJPEG stream at (http://[^\s]+:(\d+)/\S*)")
    return m.group(1), int(m.group(2))


def _parts(url: str, n: int, timeout: float = 10.0, headers: dict[str, str] | None = None) -> int:
    """Read up to ``n`` JPEG parts from an MJPEG URL; returns how many arrived before the stream ended."""
    from tests.sinks.test_http import mjpeg_parts

    got = 0
    try:
        for jpeg in mjpeg_parts(url, headers, timeout=timeout):
            assert jpeg[:2] == b"\xff\xd8"
            got += 1
            if got >= n:
                break
    except (OSError, ValueError):
        pass
    return got


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# ------------------------------------------------------------------------------------------------ 2. stop with stream


@POSIX
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_with_stream_and_folder_closes_the_stream_and_releases_the_port(sig: int, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    proc = Proc(["run", "--source", "synth:160x120", "--model", TINY, "--sink", "http:0", "--sink",
                 f"folder:{out}"], tmp_path)
    try:
        url, port = _stream_url(proc)
        stream = url.replace(f":{port}/", f":{port}/stream")
        ended = threading.Event()
        counts: list[int] = []

        def reader() -> None:
            counts.append(_parts(stream, 10**9, timeout=30))
            ended.set()

        threading.Thread(target=reader, daemon=True).start()
        proc.wait_for("first frame out")
        time.sleep(0.5)
        took, stdout = proc.stop(sig)
    finally:
        proc.kill()
    err = "".join(proc.lines)
    assert took < 1.0, (took, err)
    assert proc.p.returncode == 0 and "Traceback" not in err, err
    assert ended.wait(2.0), "the stream was not closed: a client still hangs on it"
    assert counts and counts[0] > 0  # the client was receiving until the stop
    assert _refused(port), f"port {port} still accepts connections after the process ended"
    with socket.socket() as again:  # and a new run can listen on it straight away
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
    written = int(stdout.strip().splitlines()[-1].split()[1])
    frames = _folder_frames(out)
    assert written > 0 and len(frames) == written  # every frame counted is on disk and readable


_FAKE_PYVIRTUALCAM = """
import os
class PixelFormat:
    RGB = "rgb"
class Camera:
    def __init__(self, width, height, fps, **kwargs):
        self.device = "/dev/video7"
        self.log = open(os.environ["FAKE_VCAM_LOG"], "a", buffering=1)
        self.log.write("open\\n")
    def send(self, frame):
        self.log.write("frame\\n")
    def close(self):
        self.log.write("close\\n")
        self.log.close()
"""


@POSIX
def test_signal_closes_the_virtual_camera(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "pyvirtualcam.py").write_text(_FAKE_PYVIRTUALCAM)
    log = tmp_path / "vcam.log"
    monkeypatch.setenv("FAKE_VCAM_LOG", str(log))
    proc = Proc(["run", "--source", "synth:64x48", "--model", TINY, "--sink", "vcam"], tmp_path, (fake,))
    try:
        proc.wait_for("first frame out")
        time.sleep(0.3)
        took, _ = proc.stop(signal.SIGTERM)
    finally:
        proc.kill()
    assert took < 1.0 and proc.p.returncode == 0, (took, proc.lines)
    events = log.read_text().split()
    assert events[0] == "open" and events[-1] == "close" and events.count("close") == 1, events[-3:]
    assert events.count("frame") > 0


@POSIX
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stylize_to_folder_interrupted_leaves_only_whole_frames(sig: int, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(200):
        cv2.imwrite(str(src / f"f{i:03d}.png"), rng.integers(0, 255, (120, 160, 3), np.uint8))
    out = tmp_path / "out"
    proc = Proc(["stylize", str(src), "-o", str(out), "--model", TINY, "--no-progress", "--scale", "2"], tmp_path)
    try:
        proc.wait_for("first frame out")
        time.sleep(0.3)
        took, _ = proc.stop(sig)
    finally:
        proc.kill()
    assert took < 1.0 and proc.p.returncode == 130, (took, proc.lines)
    frames = _folder_frames(out)
    assert 0 < len(frames) < 200
    assert sorted(p.name for p in out.iterdir()) == [f"f{i:03d}.png" for i in range(len(frames))]  # a prefix, in order
    assert not [p for p in out.iterdir() if p.suffix != ".png"]  # no temporary or partial files left


# ------------------------------------------------------------------------------------------------ 5. stream rules


def _non_loopback_address() -> str | None:
    """An address of this machine other than loopback (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_run_stream_binds_loopback_and_requires_the_token(tmp_path: Path) -> None:
    proc = Proc(["run", "--source", "synth:64x48", "--model", TINY, "--sink", "http:0", "--token", "T0ken"],
                tmp_path)
    try:
        url, port = _stream_url(proc)
        assert url == f"http://127.0.0.1:{port}/?token=T0ken"
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/stream", "/snapshot.jpg", "/stream?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(base + path, timeout=5)
            assert info.value.code == 401, path
        assert _parts(base + "/stream?token=T0ken", 3) == 3
        assert _parts(base + "/stream", 3, headers={"Authorization": "Bearer T0ken"}) == 3
        other = _non_loopback_address()
        if other is not None:  # the default bind is 127.0.0.1: the machine's other address must not answer
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
    finally:
        proc.kill()


def test_run_stream_host_option_binds_other_addresses(tmp_path: Path) -> None:
    other = _non_loopback_address()
    if other is None:
        pytest.skip("no non-loopback address on this machine")
    proc = Proc(["run", "--source", "synth:64x48", "--model", TINY, "--sink", "http:0", "--host", "0.0.0.0"],
                tmp_path)
    try:
        _, port = _stream_url(proc)
        assert _parts(f"http://{other}:{port}/stream", 2) == 2
    finally:
        proc.kill()


def test_run_stream_serves_twenty_readers_with_a_stalled_and_a_vanishing_client(tmp_path: Path) -> None:
    proc = Proc(["run", "--source", "synth:160x120", "--model", TINY, "--sink", "http:0"], tmp_path)
    stalled = None
    try:
        _, port = _stream_url(proc)
        stream = f"http://127.0.0.1:{port}/stream"
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")  # asks for the stream and never reads
        gone = socket.create_connection(("127.0.0.1", port))
        gone.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        gone.close()  # a viewer that closes its tab
        counts = [0] * 20

        def reader(i: int) -> None:
            counts[i] = _parts(stream, 15, timeout=20)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert counts == [15] * 20, counts
        assert proc.p.poll() is None  # still running
        took, _ = proc.stop()
        assert took < 1.0  # a stalled client does not hold up the stop either
        err = "".join(proc.lines)
        assert proc.p.returncode == 0 and "failed and was removed" not in err, err
    finally:
        if stalled is not None:
            stalled.close()
        proc.kill()


def test_a_healthy_run_is_quiet_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A healthy run prints the summary and nothing on stderr: warnings stay meaningful for the faults above."""
    logging.getLogger("livestyle").handlers.clear()
    assert main(["run", "--source", "synth:64x48", "--model", TINY, "--max-frames", "5",
                 "--sink", f"file:{tmp_path / 'ok.mp4'}"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    with av.open(str(tmp_path / "ok.mp4")) as f:
        assert sum(1 for _ in f.decode(video=0)) == 5


class _FullAtClose(_FullDisk):
    """Every frame is muxed, but writing the mp4 index at ``close()`` hits a full disk."""

    def close(self) -> None:
        self._c.close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_file_that_cannot_be_finalised_is_not_reported_as_written(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import livestyle.sinks.file as file_sink

    real_open = file_sink.av.open
    monkeypatch.setattr(file_sink.av, "open", lambda path, mode="r", *a, **k: _FullAtClose(
        real_open(path, mode, *a, **k), 10**9) if mode == "w" else real_open(path, mode, *a, **k))
    code = main(["run", "--source", "synth:64x48", "--model", TINY, "--max-frames", "5",
                 "--sink", f"file:{tmp_path / 'end.mp4'}"])
    captured = capsys.readouterr()
    assert "could not finalise" in captured.err  # the sink itself already says so
    assert "end.mp4" not in captured.out, captured.out  # ...but the summary must not list it as written
    assert code == 2, captured.err  # and with no output left, the run failed
