"""Video files through PyAV: every frame, in order (a file is not live, so nothing is dropped)."""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from livestyle.errors import SourceError
from livestyle.frames import Frame, resize

log = logging.getLogger("livestyle.capture")


class VideoFileSource:
    """Decodes the first video stream of ``path``; ``fps`` and ``size`` come from the stream.

    ``path`` stays available so a file sink can copy the audio track; ``has_audio`` says whether there is one.
    ``size`` (optional) resizes every frame.
    """

    is_live = False

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read video {self.path}: {_reason(exc)}; is it a video file?") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"  # frame + slice threads: decoding is not the bottleneck then
        self.has_audio = bool(self._container.streams.audio)
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(0)
        self._fps = float(rate) if rate else 0.0
        ctx = self._stream.codec_context
        if not ctx.width or not ctx.height:
            self._container.close()
            raise SourceError(f"cannot read video {self.path}: the video stream has no frame size")
        self._want = size
        self._size = size or (int(ctx.width), int(ctx.height))
        self._frames = self._container.decode(self._stream)
        self._index = 0
        self._closed = False
        self.names: list[str] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return 0

    @property
    def frame_count(self) -> int | None:
        """The container's frame count (an estimate some files lack: None then)."""
        return int(self._stream.frames) or None

    def read(self) -> Frame | None:
        if self._closed:
            return None
        try:
            decoded = next(self._frames)
        except StopIteration:
            return None
        except av.error.FFmpegError as exc:
            if self._index == 0:
                raise SourceError(f"cannot decode video {self.path}: {_reason(exc)}") from None
            log.warning("%s: decoding stopped after %d frames: %s", self.path, self._index, _reason(exc))
            return None
        image: np.ndarray = decoded.to_ndarray(format="rgb24")
        if image.shape[1] != self._size[0] or image.shape[0] != self._size[1]:
            image = resize(image, self._size[0], self._size[1])
        frame = Frame(image=image, index=self._index, timestamp=time.perf_counter())
        self._index += 1
        return frame

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._container.close()

    def __enter__(self) -> "VideoFileSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
