"""H.264 video through PyAV, with the audio of a file source copied (remuxed, not re-encoded) alongside.

Why remux: re-encoding audio costs CPU in the live loop and loses quality; the packets can be copied as they are.
The file is finalised on ``close()`` (encoder flushed, last fragment and index written), so a run stopped by
Ctrl-C leaves a playable file with every frame written so far.

Why fragmented MP4: a plain mp4 keeps its index (``moov``) at the end, written only by ``close()``, so a
recording cut short by ``kill -9``, a power loss or a full disk would be unplayable as a whole. Here ``.mp4``,
``.mov`` and ``.m4v`` files start with an empty ``moov`` and carry their index in a fragment about every second
(``frag_duration``, or at a keyframe: ``frag_keyframe``), each written out as soon as it is complete, so
everything up to the last complete fragment plays (decoding from the start; fragments need not begin with a
keyframe, so x264's keyframe interval and the file size stay as they were). ``.mkv`` (Matroska) gets one cluster
per second, which gives the same property. Players, browsers and FFmpeg read both as ordinary files.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from livestyle.errors import SinkError
from livestyle.frames import Frame, resize

log = logging.getLogger("livestyle.sinks")

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")
FRAGMENT_SECONDS = 1.0  # about this much video (plus the encoder's few buffered frames) is lost on a crash


def _muxer_options(suffix: str) -> dict[str, str]:
    """Crash-safe muxing: fragmented MP4/MOV, or one Matroska cluster per fragment; flushed packet by packet."""
    options = {"flush_packets": "1"}
    if suffix in (".mp4", ".mov", ".m4v"):
        options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
        options["frag_duration"] = str(int(FRAGMENT_SECONDS * 1_000_000))  # microseconds
    elif suffix == ".mkv":
        options["cluster_time_limit"] = str(int(FRAGMENT_SECONDS * 1000))  # milliseconds
    return options


def _rate(fps: float) -> Fraction:
    if not fps or fps <= 0 or fps != fps:
        fps = 30.0
    return Fraction(fps).limit_denominator(1001)


class FileSink:
    """Writes RGB frames to ``path`` as H.264 (yuv420p, width and height cropped to even numbers)."""

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float,
        audio_from: str | Path | None = None,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise SinkError(f"cannot write video {self.path}: use a {', '.join(VIDEO_SUFFIXES)} file name")
        w, h = int(size[0]), int(size[1])
        self._size = (w - w % 2, h - h % 2)  # yuv420p needs even sizes: crop the odd last row/column
        if self._size[0] < 2 or self._size[1] < 2:
            raise SinkError(f"cannot write video {self.path}: frame size {w}x{h} is too small")
        self._rate = _rate(fps)
        self.frames_written = 0
        self._closed = False
        self._failed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # FFmpeg opens the file only when the first packet is muxed (after the encoder's look-ahead), so an
            # unwritable path would otherwise pass here and fail at close with the run reported as a success.
            with open(self.path, "wb"):
                pass
            self._container = av.open(str(self.path), "w", options=_muxer_options(self.path.suffix.lower()))
        except (OSError, av.error.FFmpegError) as exc:
            raise SinkError(f"cannot write video {self.path}: {_reason(exc)}") from None
        try:
            stream = self._container.add_stream("libx264", rate=self._rate)
            stream.width, stream.height = self._size
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset}
            stream.codec_context.time_base = 1 / self._rate
            self._video = stream
            self._audio_in, self._audio_out, self._audio_packets = self._open_audio(audio_from)
        except BaseException:
            self._container.close()
            raise
        self._pending_audio: av.Packet | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def failed(self) -> bool:
        """True once a write or the finalising ``close()`` failed: the file on disk is incomplete."""
        return self._failed

    # -- audio ------------------------------------------------------------------------------------------------
    def _open_audio(
        self, audio_from: str | Path | None
    ) -> tuple[av.container.InputContainer | None, av.stream.Stream | None, Iterator[av.Packet] | None]:
        if not audio_from:
            return None, None, None
        try:
            source = av.open(str(audio_from))
        except (OSError, av.error.FFmpegError) as exc:
            log.warning("no audio copied from %s: %s", audio_from, _reason(exc))
            return None, None, None
        if not source.streams.audio:
            source.close()
            return None, None, None
        audio_in = source.streams.audio[0]
        try:
            audio_out = self._container.add_stream_from_template(audio_in)
        except (ValueError, av.error.FFmpegError) as exc:
            log.warning("audio of %s cannot go into %s (%s); writing video only", audio_from, self.path, exc)
            source.close()
            return None, None, None
        return source, audio_out, source.demux(audio_in)

    def _mux_audio_until(self, seconds: float) -> None:
        """Copy audio packets whose start lies before ``seconds`` (keeps audio interleaved with the video)."""
        if self._audio_packets is None:
            return
        while True:
            packet = self._pending_audio
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except (StopIteration, av.error.FFmpegError):
                    self._audio_packets = None
                    return
                if packet.dts is None or packet.size == 0:  # demux's final flush packet
                    continue
            if packet.pts is not None and float(packet.pts * packet.time_base) >= seconds:
                self._pending_audio = packet
                return
            self._pending_audio = None
            packet.stream = self._audio_out
            self._container.mux(packet)

    # -- FrameSink --------------------------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        if self._closed or self._failed:
            raise SinkError(f"{self.name} is closed")
        image = _fit(frame.image, self._size)
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        video_frame.pts = self.frames_written
        video_frame.time_base = 1 / self._rate
        try:
            for packet in self._video.encode(video_frame):
                self._container.mux(packet)
            self.frames_written += 1
            self._mux_audio_until(self.frames_written / self._rate)
        except (OSError, av.error.FFmpegError) as exc:
            self._failed = True
            raise SinkError(f"cannot write video {self.path}: {_reason(exc)}; free disk space or choose another path") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._failed:
                for packet in self._video.encode(None):
                    self._container.mux(packet)
                self._mux_audio_until(self.frames_written / self._rate)
        except (OSError, av.error.FFmpegError) as exc:
            self._failed = True
            log.warning("%s: could not finish the file: %s", self.path, _reason(exc))
        finally:
            try:
                self._container.close()
            except (OSError, av.error.FFmpegError) as exc:
                self._failed = True
                log.warning("%s: could not finalise the file: %s", self.path, _reason(exc))
            if self._audio_in is not None:
                self._audio_in.close()

    def __enter__(self) -> "FileSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop an odd last row/column, or resize if the frame is another size altogether."""
    h, w = image.shape[:2]
    if (w, h) == size:
        return image
    if w - size[0] in (0, 1) and h - size[1] in (0, 1):
        return np.ascontiguousarray(image[: size[1], : size[0]])
    return resize(image, size[0], size[1])


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
