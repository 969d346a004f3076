"""A network URL is read live through the same reader as a camera, and reconnects when the server comes back.

The server is livestyle's own MJPEG sink on loopback, so this needs no network.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from livestyle.capture import open_source
from livestyle.capture.camera import open_stream
from livestyle.frames import Frame
from livestyle.sinks.http import MjpegSink


class Server:
    def __init__(self, port: int, colour: tuple[int, int, int]) -> None:
        self.sink = MjpegSink(port)
        self.image = np.empty((48, 64, 3), np.uint8)
        self.image[:] = colour
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.sink.write(Frame(self.image, i))
            i += 1
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sink.close()


def mean_colour(frame: Frame) -> np.ndarray:
    return frame.image.reshape(-1, 3).mean(0)


def test_http_url_is_a_live_source() -> None:
    server = Server(0, (200, 40, 90))
    try:
        with open_source(server.sink.stream_url) as source:
            assert source.is_live and source.size == (64, 48)
            frame = source.read()
            assert np.abs(mean_colour(frame) - (200, 40, 90)).max() < 8
    finally:
        server.stop()


def test_stream_reconnects_after_the_server_restarts() -> None:
    first = Server(0, (200, 40, 90))
    port = first.sink.port
    source = open_stream(first.sink.stream_url, backoff=(0.05, 0.2))
    second = None
    try:
        assert np.abs(mean_colour(source.read()) - (200, 40, 90)).max() < 8
        first.stop()
        deadline = time.monotonic() + 5
        while not source.lost and time.monotonic() < deadline:
            assert source.read() is not None  # last good frame meanwhile
        assert source.lost
        second = Server(port, (20, 220, 60))
        deadline = time.monotonic() + 10
        colour = None
        while time.monotonic() < deadline:
            colour = mean_colour(source.read())
            if np.abs(colour - (20, 220, 60)).max() < 8:
                break
        assert colour is not None and np.abs(colour - (20, 220, 60)).max() < 8
        assert source.losses == 1 and source.reopens == 1
    finally:
        source.close()
        if second is not None:
            second.stop()
