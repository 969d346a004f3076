"""The latest-frame reader: a capture thread that keeps only the newest frame and survives a lost camera.

Why: a live camera must never be queued (latency would grow without bound when the stylizer is slower than the
camera), so the thread overwrites one slot and counts the frames nobody took. When the device stops delivering
(unplugged, network hiccup) the thread reopens it with exponential back-off while ``read()`` keeps serving the last
good frame, so the output keeps going; the loss and the recovery are each logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

import cv2
import numpy as np

from livestyle.errors import SourceError
from livestyle.frames import Frame, resize

log = logging.getLogger("livestyle.capture")


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the reader uses (tests substitute a fake)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


class LiveReader:
    """Reads BGR frames from ``open_capture()`` on a thread; ``read()`` returns the newest one as RGB.

    ``open_capture`` returns an opened capture or one whose ``isOpened()`` is False. The first frame is read
    synchronously so that a device that will not deliver fails at open time with a ``SourceError``.
    ``read()`` waits up to ``stall_timeout`` seconds for a frame newer than the last one it returned; while the
    device is lost it waits only one nominal frame period, then returns the last good image again with a fresh
    index and timestamp. ``read()`` returns None only after ``close()``.
    """

    is_live = True

    def __init__(
        self,
        open_capture: Callable[[], Capture],
        name: str,
        *,
        size: tuple[int, int] | None = None,
        backoff: tuple[float, float] = (0.25, 8.0),
        stall_timeout: float | None = None,
        first_frame_timeout: float = 10.0,
        hint: str = "check that it is connected and not used by another program",
    ) -> None:
        self.name = name
        self._open_capture = open_capture
        self._want_size = size
        self._backoff_min, self._backoff_max = backoff
        self._cond = threading.Condition()
        self._slot: np.ndarray | None = None  # newest RGB image not yet taken
        self._last: np.ndarray | None = None  # last image handed out (served again while the device is lost)
        self._dropped = 0
        self._index = 0
        self._stop = threading.Event()
        self._lost = False
        self.losses = 0  # how many times the device was lost
        self.reopens = 0  # how many times it came back
        cap = open_capture()
        if not cap.isOpened():
            _release(cap)
            raise SourceError(f"cannot open {name}; {hint}")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0.0 < fps < 1000.0 else 30.0
        first = self._read_first(cap, first_frame_timeout)
        self._cap: Capture | None = cap
        self._last = first
        h, w = first.shape[:2]
        self._size = (w, h)
        self._period = 1.0 / self._fps
        self._stall_timeout = stall_timeout if stall_timeout is not None else 1.0
        self._slot = first
        self._thread = threading.Thread(target=self._run, name=f"livestyle-capture-{name}", daemon=True)
        self._thread.start()

    # -- FrameSource -------------------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def lost(self) -> bool:
        """True while the device is lost and the last good frame is being repeated."""
        return self._lost

    def read(self) -> Frame | None:
        with self._cond:
            if self._slot is None and not self._stop.is_set():
                # Lost: keep the output at the nominal rate with the last good frame. Healthy but slow: wait longer.
                self._cond.wait(self._period if self._lost else self._stall_timeout)
                if self._slot is None and self._lost and not self._stop.is_set():
                    self._cond.wait(self._period)
            if self._stop.is_set():
                return None
            image = self._slot if self._slot is not None else self._last
            self._slot = None
            self._last = image
            frame = Frame(image=image, index=self._index, timestamp=time.perf_counter())
            self._index += 1
            return frame

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=2.0)
        if self._thread.is_alive():  # a driver call that blocks; the daemon thread releases the device when it returns
            log.warning("%s: capture thread did not stop within 2 s", self.name)

    def __enter__(self) -> "LiveReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------------------
    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        if bgr.ndim == 2:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        elif bgr.shape[2] == 4:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        want = self._want_size or getattr(self, "_size", None)
        if want is not None:
            rgb = resize(rgb, want[0], want[1])
        return rgb

    def _read_first(self, cap: Capture, timeout: float) -> np.ndarray:
        deadline = time.monotonic() + timeout
        while True:
            ok, image = cap.read()
            if ok and image is not None:
                return self._convert(image)
            if time.monotonic() > deadline:
                _release(cap)
                raise SourceError(f"{self.name} opened but delivered no frame; check the device or URL")
            time.sleep(0.05)

    def _publish(self, image: np.ndarray) -> None:
        with self._cond:
            if self._slot is not None:
                self._dropped += 1
            self._slot = image
            self._cond.notify_all()

    def _run(self) -> None:
        delay = self._backoff_min
        try:
            while not self._stop.is_set():
                cap = self._cap
                if cap is None:
                    cap = self._try_reopen()
                    if cap is None:
                        self._stop.wait(delay)
                        delay = min(delay * 2.0, self._backoff_max)
                        continue
                    delay = self._backoff_min
                try:
                    ok, image = cap.read()
                except cv2.error:
                    ok, image = False, None
                if not ok or image is None:
                    self._on_lost(cap)
                    continue
                if self._lost:
                    self._lost = False
                    self.reopens += 1
                    log.warning("%s is back; live frames again", self.name)
                self._publish(self._convert(image))
        finally:
            if self._cap is not None:
                _release(self._cap)
                self._cap = None

    def _on_lost(self, cap: Capture) -> None:
        _release(cap)
        self._cap = None
        if not self._lost:
            self._lost = True
            self.losses += 1
            log.warning("%s lost; repeating the last frame and reopening with back-off", self.name)
            with self._cond:
                self._cond.notify_all()

    def _try_reopen(self) -> Capture | None:
        try:
            cap = self._open_capture()
        except Exception:  # noqa: BLE001 - a driver error while the device is gone is expected; keep retrying
            return None
        if not cap.isOpened():
            _release(cap)
            return None
        self._cap = cap
        return cap


def _release(cap: Capture) -> None:
    try:
        cap.release()
    except Exception:  # noqa: BLE001 - releasing a dead device must not take the program down
        pass
