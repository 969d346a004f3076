"""A virtual camera through pyvirtualcam (v4l2loopback on Linux, OBS on Windows/macOS), loaded lazily.

When the package or the device is missing, the error carries the setup steps for this OS, with every backend
failure pyvirtualcam reported in one line.
"""

from __future__ import annotations

import sys

from livestyle.errors import BackendUnavailable, SinkError
from livestyle.frames import Frame, resize


def setup_hint(platform: str | None = None) -> str:
    """How to get a virtual camera device on this OS."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return ("pip install 'livestyle[virtualcam]' and load v4l2loopback: sudo apt install v4l2loopback-dkms; "
                "sudo modprobe v4l2loopback devices=1 exclusive_caps=1")
    return ("pip install 'livestyle[virtualcam]' and install OBS Studio (obsproject.com), then start its virtual "
            "camera once (Start Virtual Camera) and stop it again")


class VirtualCameraSink:
    """Sends RGB frames to a virtual webcam that video-call apps can pick."""

    def __init__(self, size: tuple[int, int], fps: float, device: str | None = None) -> None:
        self.name = "vcam"
        try:
            import pyvirtualcam
        except ImportError:
            raise BackendUnavailable("the virtual camera needs pyvirtualcam", setup_hint()) from None
        self._size = (int(size[0]), int(size[1]))
        try:
            self._camera = pyvirtualcam.Camera(
                width=self._size[0], height=self._size[1], fps=float(fps) if fps and fps > 0 else 30.0,
                fmt=pyvirtualcam.PixelFormat.RGB, device=device, print_fps=False,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            reason = " ".join(str(exc).split())
            raise BackendUnavailable(f"no virtual camera device ({reason})", setup_hint()) from None
        self.device = str(self._camera.device)
        self._closed = False

    def write(self, frame: Frame) -> None:
        if self._closed:
            raise SinkError("the virtual camera is closed")
        image = resize(frame.image, *self._size)
        try:
            self._camera.send(image)
        except (RuntimeError, OSError, ValueError) as exc:
            raise SinkError(f"the virtual camera {self.device} stopped: {' '.join(str(exc).split())}") from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._camera.close()
            except (RuntimeError, OSError):
                pass

    def __enter__(self) -> "VirtualCameraSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
