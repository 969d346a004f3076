"""The preview window (OpenCV highgui), its hotkeys and a short status overlay.

OpenCV is imported lazily and checked for GUI support: the headless wheel (the default dependency, so servers and CI
need no X libraries) has none, and then the error says what to install.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque

import cv2
import numpy as np

from livestyle.errors import BackendUnavailable, SinkError
from livestyle.frames import Frame
from livestyle.sinks.actions import ACTIONS, HELP, action_for_key

__all__ = ["ACTIONS", "PreviewSink", "display_available", "draw_status", "gui_available"]

STATUS_SECONDS = 1.5


def gui_available() -> bool:
    """True when this OpenCV build has a GUI backend (opencv-python, not opencv-python-headless)."""
    info = cv2.getBuildInformation()
    gui = info.split("GUI:", 1)[1].splitlines()[0].strip() if "GUI:" in info else ""
    return bool(gui) and gui.upper() != "NONE"


def display_available() -> bool:
    """True when a window can be shown: a GUI-capable OpenCV and, on Linux/BSD, an X11 or Wayland display."""
    if not gui_available():
        return False
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def draw_status(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``image`` with ``text`` on a dark band at the bottom (readable on any picture)."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(1.0, w / 900.0))
    thickness = 1 if scale < 0.7 else 2
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    band = th + base + 10
    y0 = max(0, h - band)
    out[y0:h] = (out[y0:h].astype(np.uint16) * 2 // 5).astype(np.uint8)
    cv2.putText(out, text, (8, h - base - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)
    return out


class PreviewSink:
    """Shows frames in a window. ``poll_action()`` returns the next hotkey's action (one of ``ACTIONS``) or None;
    ``show_status(text)`` overlays a line for about 1.5 s. Closing the window counts as ``quit``."""

    def __init__(self, title: str = "livestyle") -> None:
        self.name = "preview"
        self.title = title
        if not gui_available():
            raise BackendUnavailable(
                "the preview window needs OpenCV with GUI support",
                "pip install opencv-python (instead of opencv-python-headless) and run with a display, "
                "or use --sink file:out.mp4 / --sink http:8080",
            )
        if not display_available():
            raise BackendUnavailable(
                "the preview window needs a display", "no DISPLAY or WAYLAND_DISPLAY is set; use --sink file:out.mp4 "
                "or --sink http:8080 and watch in a browser"
            )
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            raise BackendUnavailable("cannot open the preview window", f"{str(exc).strip().splitlines()[-1]}; "
                                     "check the display or use --sink file:out.mp4") from None
        self._keys: deque[str] = deque(maxlen=32)
        self._status: tuple[str, float] | None = (HELP, time.monotonic() + 4.0)
        self._shown = False
        self._closed = False

    def show_status(self, text: str) -> None:
        self._status = (text, time.monotonic() + STATUS_SECONDS)

    def write(self, frame: Frame) -> None:
        if self._closed:
            raise SinkError("the preview window is closed")
        image = frame.image
        if self._status is not None:
            text, until = self._status
            if time.monotonic() < until:
                image = draw_status(image, text)
            else:
                self._status = None
        try:
            cv2.imshow(self.title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            self._shown = True
            self._pump(1)
        except cv2.error as exc:
            raise SinkError(f"the preview window failed: {str(exc).strip().splitlines()[-1]}") from None

    def _pump(self, wait_ms: int) -> None:
        """Let the GUI process events and collect key presses (waitKeyEx is also what repaints the window)."""
        code = cv2.waitKeyEx(wait_ms)
        while code != -1:
            action = action_for_key(code)
            if action is not None:
                self._keys.append(action)
            code = cv2.waitKeyEx(1)
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self._keys.append("quit")  # the user closed the window

    def poll_action(self) -> str | None:
        return self._keys.popleft() if self._keys else None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass

    def __enter__(self) -> "PreviewSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
