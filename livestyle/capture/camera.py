"""Live sources read through OpenCV: a webcam by index, or a network stream (rtsp/http/...) by URL."""

from __future__ import annotations

import os
import sys

import cv2

from livestyle.capture.live import LiveReader


def _camera_api() -> int:
    """The capture backend that opens quickly and reliably on each OS (DirectShow on Windows avoids MSMF stalls)."""
    if sys.platform.startswith("win"):
        return cv2.CAP_DSHOW
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    return cv2.CAP_ANY


def open_camera(index: int, size: tuple[int, int] | None = None, **reader_options: object) -> LiveReader:
    """Webcam ``index`` with a newest-frame capture thread; ``size`` asks the driver for that resolution."""

    def open_capture() -> cv2.VideoCapture:
        cap = cv2.VideoCapture(index, _camera_api())
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue adds latency; we keep the newest anyway
            if size is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        return cap

    return LiveReader(open_capture, f"camera {index}", size=size, **reader_options)  # type: ignore[arg-type]


def open_stream(url: str, size: tuple[int, int] | None = None, **reader_options: object) -> LiveReader:
    """A network stream through OpenCV's FFmpeg backend, read live (newest frame, reopened when it drops)."""

    # FFmpeg's own error lines ("[tcp @ 0x...] Connection refused") would precede our one-line SourceError and be
    # repeated on every reconnect attempt; OpenCV reads this when it first opens a stream. Set it to 24 to see them.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

    def open_capture() -> cv2.VideoCapture:
        # Bounded waits: FFmpeg's default network timeouts are long enough to make a lost stream look like a hang.
        params = [getattr(cv2, "CAP_PROP_OPEN_TIMEOUT_MSEC", -1), 5000, getattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC", -1), 5000]
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params if -1 not in params else [])
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    reader_options.setdefault("hint", "check the URL, the network and that the stream is running")
    return LiveReader(open_capture, f"stream {_redact(url)}", size=size, **reader_options)  # type: ignore[arg-type]


def _redact(url: str) -> str:
    """Hide credentials (rtsp://user:pass@host) in messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
