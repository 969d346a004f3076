"""One table of source kinds and one function that opens a source from a spec string.

The CLI's help and the tests' parametrisation come from ``SOURCE_KINDS``, so a new kind is added in one place.
"""

from __future__ import annotations

import os
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from livestyle.capture.base import FrameSource
from livestyle.errors import SourceError
from livestyle.resources import bundled_dir

log = logging.getLogger("livestyle.capture")

SAMPLE_CLIP = bundled_dir("assets") / "sample.mp4"  # inside the installed package, or the clone's assets/
DEFAULT_SYNTH_SIZE = (640, 480)
_MAX_SIDE = 16384
_URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")


@dataclass(frozen=True)
class SourceKind:
    kind: str
    syntax: str
    example: str
    description: str
    live: bool


SOURCE_KINDS: tuple[SourceKind, ...] = (
    SourceKind("camera", "N | cam:N", "0", "webcam by index (newest frame only, reopened if lost)", True),
    SourceKind("stream", "rtsp://... | http(s)://...", "rtsp://192.168.1.10:554/live",
               "network stream read live through OpenCV/FFmpeg", True),
    SourceKind("video", "PATH.mp4", "assets/sample.mp4", "video file: every frame in order (PyAV)", False),
    SourceKind("folder", "DIR", "frames/", "folder of images, natural sort order, names kept", False),
    SourceKind("image", "PATH.png", "photo.jpg", "a single image (one frame)", False),
    SourceKind("synth", "synth | synth:WxH", "synth:640x480",
               "moving synthetic scene with known motion (tests, benchmarks)", False),
    SourceKind("synth-still", "synth-still | synth-still:WxH", "synth-still:640x480",
               "still synthetic scene with gaussian sensor noise (flicker tests)", False),
)


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec: ``kind`` is one of ``SOURCE_KINDS``; ``target`` the index, URL, path or size."""

    kind: str
    target: str
    size: tuple[int, int] | None = None


def parse_size(text: str) -> tuple[int, int]:
    """``'640x480'`` -> ``(640, 480)``; anything else is a one-line ``SourceError``."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    if not match:
        raise SourceError(f"bad size {text!r}: use WIDTHxHEIGHT, e.g. 640x480")
    w, h = int(match.group(1)), int(match.group(2))
    if not (2 <= w <= _MAX_SIDE and 2 <= h <= _MAX_SIDE):
        raise SourceError(f"bad size {text!r}: width and height must be between 2 and {_MAX_SIDE}")
    return w, h


def parse_source_spec(spec: str) -> SourceSpec:
    """Classify a spec without opening anything (paths must exist to be classified as file, folder or image)."""
    from livestyle.capture.images import is_image_path

    if not isinstance(spec, str) or not spec.strip():
        raise SourceError("empty source: give a camera index (0), a video file, a folder, an image, a URL or synth")
    text = spec.strip()
    lower = text.lower()
    if re.fullmatch(r"\d{1,3}", text):
        return SourceSpec("camera", str(int(text)))
    if lower.startswith("cam:"):
        index = text[4:].strip()
        if not re.fullmatch(r"\d{1,3}", index):
            raise SourceError(f"bad camera {spec!r}: use cam:N with N a camera index, e.g. cam:0")
        return SourceSpec("camera", str(int(index)))
    for kind in ("synth-still", "synth"):
        if lower == kind:
            return SourceSpec(kind, "")
        if lower.startswith(kind + ":"):
            size = parse_size(text[len(kind) + 1 :])
            return SourceSpec(kind, text[len(kind) + 1 :].strip(), size)
    scheme = lower.split("://", 1)[0] if "://" in lower else ""
    if scheme:
        if scheme not in _URL_SCHEMES:
            raise SourceError(f"unsupported URL scheme {scheme!r} in {spec!r}: use one of {', '.join(_URL_SCHEMES)}")
        return SourceSpec("stream", text)
    if "\x00" in text:  # expanduser("~\x00") and the file system calls raise ValueError on it
        raise SourceError(f"bad source {spec!r}: it contains a NUL character")
    path = Path(os.path.expanduser(text))  # os.path never raises for an unknown ~user
    if path.is_dir():
        return SourceSpec("folder", str(path))
    if path.is_file():
        return SourceSpec("image" if is_image_path(path) else "video", str(path))
    raise SourceError(
        f"source not found: {spec!r} is not a file, a folder, a camera index, a URL or synth[:WxH]"
    )


def open_source(spec: str, *, size: tuple[int, int] | None = None) -> FrameSource:
    """Open the source ``spec`` names (see ``SOURCE_KINDS``). ``size`` asks for frames of that (w, h): cameras ask
    the driver, synthetic scenes are generated at it, other sources are resized to it."""
    parsed = parse_source_spec(spec)
    if parsed.kind == "camera":
        from livestyle.capture.camera import open_camera

        with _quiet_opencv():
            return open_camera(int(parsed.target), size=size)
    if parsed.kind == "stream":
        from livestyle.capture.camera import open_stream

        with _quiet_opencv():
            return open_stream(parsed.target, size=size)
    if parsed.kind in ("synth", "synth-still"):
        from livestyle.capture.synth import SynthSource, SynthStillSource

        w, h = size or parsed.size or DEFAULT_SYNTH_SIZE
        cls = SynthSource if parsed.kind == "synth" else SynthStillSource
        return cls(w, h)
    if parsed.kind == "folder":
        from livestyle.capture.images import ImageFolderSource

        return ImageFolderSource(parsed.target, size=size)
    if parsed.kind == "image":
        from livestyle.capture.images import ImageFileSource

        return ImageFileSource(parsed.target, size=size)
    from livestyle.capture.video import VideoFileSource

    return VideoFileSource(parsed.target, size=size)


def default_source(*, size: tuple[int, int] | None = None) -> FrameSource:
    """Webcam 0 if one opens, else the bundled sample clip (so the default run works on any machine)."""
    if _camera_may_exist():
        try:
            from livestyle.capture.camera import open_camera

            with _quiet_opencv():
                return open_camera(0, size=size, first_frame_timeout=3.0)
        except SourceError as exc:
            log.info("no webcam (%s); using the sample clip", exc)
    if not SAMPLE_CLIP.is_file():
        raise SourceError(f"no webcam and the sample clip {SAMPLE_CLIP} is missing; pass --source FILE or synth")
    from livestyle.capture.video import VideoFileSource

    return VideoFileSource(SAMPLE_CLIP, size=size)


def _camera_may_exist() -> bool:
    """On Linux a webcam is a /dev/video* node; skip the probe (and OpenCV's warnings) when there is none."""
    if sys.platform.startswith("linux"):
        return any(Path("/dev").glob("video*"))
    return True


class _quiet_opencv:
    """Silence OpenCV's 'can't open camera by index' warnings: our SourceError says it better."""

    def __enter__(self) -> None:
        import cv2

        self._logging = getattr(getattr(cv2, "utils", None), "logging", None)
        if self._logging is not None:
            self._level = self._logging.getLogLevel()
            self._logging.setLogLevel(self._logging.LOG_LEVEL_ERROR)

    def __exit__(self, *exc: object) -> None:
        if self._logging is not None:
            self._logging.setLogLevel(self._level)
