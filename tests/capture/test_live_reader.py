"""The latest-frame reader: drops are counted, a lost camera is reopened with back-off, reported once."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
import pytest

from livestyle.capture import open_source


class FakeCamera:
    """Stands in for cv2.VideoCapture. Frames are BGR images whose blue channel is a running counter.

    ``script`` is shared by every instance (i.e. every reopen): after ``fail_after`` frames the device dies (read
    fails) and the next ``failed_opens`` opens fail, like an unplugged camera that is plugged back in later.
    """

    fail_after: int | None = None
    failed_opens = 0
    opens = 0
    delivered = 0
    period = 0.002
    lock = threading.Lock()

    def __init__(self, *args: object) -> None:
        cls = type(self)
        with cls.lock:
            cls.opens += 1
            self.ok = cls.opens == 1 or cls.failed_opens <= 0
            if cls.opens > 1 and cls.failed_opens > 0:
                cls.failed_opens -= 1

    def isOpened(self) -> bool:  # noqa: N802
        return self.ok

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 100.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        cls = type(self)
        time.sleep(cls.period)
        if not self.ok:
            return False, None
        if cls.fail_after is not None and cls.delivered >= cls.fail_after:
            cls.fail_after = None  # dies once
            self.ok = False
            return False, None
        cls.delivered += 1
        image = np.zeros((12, 16, 3), np.uint8)
        image[..., 0] = cls.delivered % 256  # B in BGR -> last channel in RGB
        return True, image

    def release(self) -> None:
        self.ok = False


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch) -> type[FakeCamera]:
    cam = type("Cam", (FakeCamera,), {"fail_after": None, "failed_opens": 0, "opens": 0, "delivered": 0})
    monkeypatch.setattr(cv2, "VideoCapture", cam)
    return cam


def test_newest_frame_only_and_drops_counted(fake_camera: type[FakeCamera]) -> None:
    with open_source("0") as source:
        assert source.is_live
        assert source.size == (16, 12)
        first = source.read()
        assert first.image.shape == (12, 16, 3)
        time.sleep(0.15)  # the camera delivers ~50 frames meanwhile; only the newest is kept
        frame = source.read()
        assert source.dropped > 10
        newest = fake_camera.delivered % 256
        assert abs(int(frame.image[0, 0, 2]) - newest) <= 2  # RGB: blue is channel 2
        assert frame.image[0, 0, 0] == 0  # converted from BGR
        assert frame.index == first.index + 1
    assert source.read() is None


def test_lost_camera_is_reopened_with_backoff_and_reported_once(
    fake_camera: type[FakeCamera], caplog: pytest.LogCaptureFixture
) -> None:
    fake_camera.fail_after = 5
    fake_camera.failed_opens = 4
    caplog.set_level(logging.WARNING, logger="livestyle.capture")
    from livestyle.capture.camera import open_camera

    source = open_camera(0, backoff=(0.02, 0.08))
    try:
        images = []
        start = time.monotonic()
        recovered = False
        while time.monotonic() - start < 5.0:
            frame = source.read()
            assert frame is not None  # the output keeps going while the camera is away
            images.append(int(frame.image[0, 0, 2]))
            if source.reopens == 1 and len(images) > 3 and images[-1] > 5:
                recovered = True
                break
        assert recovered, "camera never came back"
        assert source.losses == 1
        # While lost, the last good frame was served again (frame 5), then live frames resumed.
        assert images.count(5) >= 2
        assert images[-1] > 5
        # Back-off: 4 failed reopens with delays 0.02, 0.04, 0.08, 0.08 before the 5th open succeeds.
        assert fake_camera.opens == 1 + 4 + 1
    finally:
        source.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("lost" in m for m in messages) == 1, messages
    assert sum("is back" in m for m in messages) == 1, messages


def test_backoff_grows_when_the_camera_stays_away(fake_camera: type[FakeCamera]) -> None:
    fake_camera.fail_after = 1
    fake_camera.failed_opens = 10_000
    from livestyle.capture.camera import open_camera

    source = open_camera(0, backoff=(0.01, 0.16))
    try:
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            assert source.read() is not None
        # Without back-off a tight loop would try thousands of times; with 0.01 doubling to 0.16 it is a handful.
        assert 3 <= fake_camera.opens <= 10
        assert source.lost
    finally:
        start = time.monotonic()
        source.close()
        assert time.monotonic() - start < 1.0


def test_close_stops_the_thread(fake_camera: type[FakeCamera]) -> None:
    before = threading.active_count()
    source = open_source("cam:0")
    assert threading.active_count() == before + 1
    source.close()
    source.close()  # idempotent
    assert threading.active_count() == before
