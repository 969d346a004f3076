"""One table of sink kinds and one function that opens a sink from a spec string.

The CLI's help and the tests' parametrisation come from ``SINK_KINDS``. Backends with extra dependencies (preview
window, virtual camera) are imported only when asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from livestyle.errors import SinkError
from livestyle.sinks.base import FrameSink
from livestyle.sinks.file import FileSink
from livestyle.sinks.folder import FolderSink

__all__ = ["SINK_KINDS", "FileSink", "FolderSink", "SinkKind", "default_sink_spec", "open_sink", "parse_sink"]

DEFAULT_OUTPUT_FILE = "livestyle-output.mp4"


@dataclass(frozen=True)
class SinkKind:
    kind: str
    syntax: str
    example: str
    description: str


SINK_KINDS: tuple[SinkKind, ...] = (
    SinkKind("preview", "preview", "preview", "window with hotkeys (needs opencv-python and a display)"),
    SinkKind("vcam", "vcam", "vcam", "virtual webcam via pyvirtualcam (v4l2loopback / OBS)"),
    SinkKind("file", "file:PATH", "file:out.mp4", "H.264 video file; audio copied from a video source"),
    SinkKind("folder", "folder:DIR", "folder:frames", "PNG frames (input names kept when known)"),
    SinkKind("http", "http:PORT", "http:8080", "MJPEG stream on 127.0.0.1 (see --host, --token)"),
)

_HINT = "use preview, vcam, file:PATH, folder:DIR or http:PORT"


def parse_sink(spec: str) -> tuple[str, str]:
    """Split a spec into (kind, argument) and check it, without opening anything."""
    raw = spec.strip() if isinstance(spec, str) else ""
    kind, _, arg = raw.partition(":")
    kind = kind.strip().lower()
    if kind in ("preview", "vcam"):
        return kind, arg.strip()
    if kind in ("file", "folder"):
        if not arg.strip() or any(c in arg for c in "\0\r\n"):
            example = "file:out.mp4" if kind == "file" else "folder:frames"
            raise SinkError(f"bad sink {raw[:60]!r}: '{kind}:' needs a path, e.g. {example}")
        return kind, arg
    if kind == "http":
        if not re.fullmatch(r"\s*\d{1,5}\s*", arg) or not 0 <= int(arg) <= 65535:
            raise SinkError(f"bad sink {raw[:60]!r}: http needs a port number 0-65535, e.g. http:8080")
        return kind, str(int(arg))
    raise SinkError(f"unknown sink {raw[:60]!r}: {_HINT}")


def open_sink(
    spec: str,
    *,
    size: tuple[int, int],
    fps: float,
    audio_from: str | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    names: Sequence[str] | None = None,
) -> FrameSink:
    """Open the sink ``spec`` names (see ``SINK_KINDS``) for frames of ``size`` (w, h) at ``fps``.

    ``audio_from``: a media file whose audio a ``file:`` sink copies. ``host``/``token``: for ``http:``.
    ``names``: file names a ``folder:`` sink gives the frames (by ``Frame.index``).
    """
    kind, arg = parse_sink(spec)
    if kind == "file":
        return FileSink(arg, size=size, fps=fps, audio_from=audio_from)
    if kind == "folder":
        return FolderSink(arg, names=names)
    if kind == "http":
        from livestyle.sinks.http import MjpegSink

        return MjpegSink(int(arg), host=host, token=token)
    if kind == "vcam":
        from livestyle.sinks.vcam import VirtualCameraSink

        return VirtualCameraSink(size=size, fps=fps, device=arg or None)
    from livestyle.sinks.preview import PreviewSink

    return PreviewSink()


def default_sink_spec() -> str:
    """``preview`` when a window can be shown, else a video file in the working folder."""
    from livestyle.sinks.preview import display_available

    return "preview" if display_available() else f"file:{DEFAULT_OUTPUT_FILE}"
