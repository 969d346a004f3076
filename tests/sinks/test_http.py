"""MJPEG stream: real clients read it, the token is enforced, many readers keep up, a stalled one slows nothing."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
from typing import Iterator

import cv2
import numpy as np
import pytest

from livestyle.errors import SinkError
from livestyle.frames import Frame
from livestyle.sinks import open_sink
from livestyle.sinks.http import MjpegSink

COLOUR = (200, 40, 90)


def solid(w: int = 64, h: int = 48, rgb: tuple[int, int, int] = COLOUR) -> np.ndarray:
    image = np.empty((h, w, 3), np.uint8)
    image[:] = rgb
    return image


class Feeder:
    """Writes frames on a thread at ``fps`` while a test reads; records how long each write() took."""

    def __init__(self, sink: MjpegSink, image: np.ndarray, fps: float = 60.0) -> None:
        self.sink, self.image, self.period = sink, image, 1.0 / fps
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            start = time.perf_counter()
            self.sink.write(Frame(self.image, i))
            self.times.append(time.perf_counter() - start)
            i += 1
            self._stop.wait(self.period)

    def __enter__(self) -> "Feeder":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def mjpeg_parts(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> Iterator[bytes]:
    """A minimal multipart/x-mixed-replace reader (what a browser does): yields each JPEG."""
    response = urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout)
    ctype = response.headers["Content-Type"]
    assert ctype.startswith("multipart/x-mixed-replace")
    boundary = ctype.split("boundary=")[1].encode()
    with response:
        while True:
            line = response.readline()
            if not line:
                return
            if line.strip() != b"--" + boundary:
                continue
            length = None
            while (header := response.readline().strip()) != b"":
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert length is not None
            yield response.read(length)


def decode(jpeg: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture
def sink() -> Iterator[MjpegSink]:
    s = open_sink("http:0", size=(64, 48), fps=30)
    assert isinstance(s, MjpegSink)
    yield s
    s.close()


def test_binds_loopback_by_default_and_exposes_url(sink: MjpegSink) -> None:
    assert sink.host == "127.0.0.1"
    assert sink.url == f"http://127.0.0.1:{sink.port}/"
    page = urllib.request.urlopen(sink.url, timeout=5).read().decode()
    assert '<img src="/stream"' in page


def test_urllib_multipart_client_reads_frames(sink: MjpegSink) -> None:
    with Feeder(sink, solid()):
        parts = mjpeg_parts(sink.stream_url)
        images = [decode(next(parts)) for _ in range(3)]
    for image in images:
        assert image.shape == (48, 64, 3)
        assert np.abs(image.reshape(-1, 3).mean(0) - COLOUR).max() < 6


def test_opencv_reads_the_stream(sink: MjpegSink) -> None:
    with Feeder(sink, solid()):
        cap = cv2.VideoCapture(sink.stream_url, cv2.CAP_FFMPEG)
        try:
            assert cap.isOpened()
            ok, bgr = cap.read()
        finally:
            cap.release()
    assert ok
    assert np.abs(bgr.reshape(-1, 3).mean(0)[::-1] - COLOUR).max() < 6


def test_snapshot(sink: MjpegSink) -> None:
    snap = f"http://127.0.0.1:{sink.port}/snapshot.jpg"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(snap, timeout=5)
    assert info.value.code == 503  # nothing written yet
    sink.write(Frame(solid(rgb=(10, 220, 30)), 0))
    image = decode(urllib.request.urlopen(snap, timeout=5).read())
    assert np.abs(image.reshape(-1, 3).mean(0) - (10, 220, 30)).max() < 6


def test_token_enforced() -> None:
    with MjpegSink(0, token="s3cret") as sink:
        sink.write(Frame(solid(), 0))
        base = f"http://127.0.0.1:{sink.port}"
        for path in ("/", "/stream", "/snapshot.jpg", "/snapshot.jpg?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(base + path, timeout=5)
            assert info.value.code == 401
        assert urllib.request.urlopen(base + "/snapshot.jpg?token=s3cret", timeout=5).status == 200
        req = urllib.request.Request(base + "/snapshot.jpg", headers={"Authorization": "Bearer s3cret"})
        assert urllib.request.urlopen(req, timeout=5).status == 200
        assert sink.url.endswith("/?token=s3cret")
        page = urllib.request.urlopen(sink.url, timeout=5).read().decode()
        assert 'src="/stream?token=s3cret"' in page  # the browser page can show the stream
        with Feeder(sink, solid()):
            assert decode(next(mjpeg_parts(base + "/stream", {"Authorization": "Bearer s3cret"}))).shape == (48, 64, 3)


def test_twenty_concurrent_readers_keep_receiving(sink: MjpegSink) -> None:
    counts = [0] * 20
    errors: list[BaseException] = []

    def reader(i: int) -> None:
        try:
            for _ in mjpeg_parts(sink.stream_url):
                counts[i] += 1
                if counts[i] >= 15:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with Feeder(sink, solid(), fps=60):
        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    assert not errors
    assert counts == [15] * 20
    assert sink.clients_served == 20


def test_stalled_client_does_not_slow_write_or_other_clients(sink: MjpegSink) -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)  # ~100 kB JPEGs fill socket buffers fast

    def timed_writes(n: int) -> list[float]:
        times = []
        for i in range(n):
            start = time.perf_counter()
            sink.write(Frame(noisy, i))
            times.append(time.perf_counter() - start)
            time.sleep(0.005)
        return times

    # Baseline: one healthy reader, so write() encodes.
    got = []
    healthy = threading.Thread(target=lambda: [got.append(len(p)) for p, _ in zip(mjpeg_parts(sink.stream_url), range(10**6))],
                               daemon=True)
    healthy.start()
    while sink.clients < 1:
        time.sleep(0.01)
    baseline = timed_writes(40)
    # A client that connects, asks for the stream and never reads.
    stalled = socket.create_connection(("127.0.0.1", sink.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    while sink.clients < 2:
        time.sleep(0.01)
    received_before = len(got)
    with_stalled = timed_writes(80)
    stalled.close()
    assert statistics.median(with_stalled) < 2 * statistics.median(baseline) + 0.002
    assert max(with_stalled) < 0.25  # never blocked on the stalled socket
    assert len(got) - received_before >= 20  # the healthy client kept receiving
    assert sink.client_drops > 0 or len(got) > 100


def test_client_gone_never_raises(sink: MjpegSink) -> None:
    conn = socket.create_connection(("127.0.0.1", sink.port))
    conn.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    sink.write(Frame(solid(), 0))
    conn.close()
    for i in range(1, 20):
        sink.write(Frame(solid(), i))
        time.sleep(0.002)
    deadline = time.monotonic() + 3
    while sink.clients and time.monotonic() < deadline:
        sink.write(Frame(solid(), 99))
        time.sleep(0.02)
    assert sink.clients == 0


def test_port_in_use_is_a_one_line_sink_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SinkError, match=f"port {port} on 127.0.0.1 is in use") as info:
            open_sink(f"http:{port}", size=(8, 8), fps=10)
    assert "\n" not in str(info.value)


def test_close_is_quick_and_idempotent_with_clients_attached(sink: MjpegSink) -> None:
    conn = socket.create_connection(("127.0.0.1", sink.port))
    conn.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    while sink.clients < 1:
        time.sleep(0.01)
    before = threading.active_count()
    start = time.monotonic()
    sink.close()
    sink.close()
    assert time.monotonic() - start < 1.5
    conn.close()
    deadline = time.monotonic() + 2
    while threading.active_count() >= before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() < before
    with pytest.raises(SinkError):
        sink.write(Frame(solid(), 0))
