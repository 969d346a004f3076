"""File sink: a playable H.264 mp4 with every frame, audio copied, finalised on close, SinkError on disk full.
Folder sink: PNG frames named like the input or numbered."""

from __future__ import annotations

import errno
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livestyle.errors import SinkError
from livestyle.frames import Frame
from livestyle.sinks import open_sink
from livestyle.sinks.file import FileSink


def colour_frames(n: int, w: int = 64, h: int = 48) -> list[Frame]:
    frames = []
    for i in range(n):
        image = np.zeros((h, w, 3), np.uint8)
        image[..., 0] = (40 * i) % 256
        image[..., 1] = 128
        frames.append(Frame(image, i))
    return frames


def make_clip_with_audio(path: Path, seconds: float = 1.0, fps: int = 10) -> None:
    """A tiny mp4 with a video and an AAC audio stream (a 440 Hz tone)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        audio = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 100, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        t = np.arange(int(seconds * 16000)) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = tone[start : start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def read_back(path: Path) -> tuple[list[np.ndarray], dict[str, object]]:
    with av.open(str(path)) as container:
        info = {
            "codec": container.streams.video[0].codec_context.name,
            "fps": float(container.streams.video[0].average_rate),
            "audio": [s.codec_context.name for s in container.streams.audio],
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        if container.streams.audio:
            container.seek(0)
            info["audio_packets"] = sum(1 for p in container.demux(audio=0) if p.size)
    return frames, info


def test_file_sink_writes_playable_h264_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.mp4"
    with open_sink(f"file:{path}", size=(64, 48), fps=12.5) as sink:
        for frame in colour_frames(9):
            sink.write(frame)
    frames, info = read_back(path)
    assert info["codec"] == "h264" and info["fps"] == pytest.approx(12.5)
    assert len(frames) == 9
    reds = [int(f[..., 0].mean()) for f in frames]
    assert reds == pytest.approx([(40 * i) % 256 for i in range(9)], abs=6)  # in order, RGB kept


def test_file_sink_crops_odd_sizes_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    sink = FileSink(path, size=(33, 25), fps=10)
    sink.write(Frame(np.full((25, 33, 3), 77, np.uint8), 0))
    sink.close()
    frames, _ = read_back(path)
    assert frames[0].shape == (24, 32, 3)


def test_file_sink_copies_audio(tmp_path: Path) -> None:
    clip = tmp_path / "in.mp4"
    make_clip_with_audio(clip, seconds=1.0)
    out = tmp_path / "out.mp4"
    with open_sink(f"file:{out}", size=(32, 24), fps=10, audio_from=str(clip)) as sink:
        for frame in colour_frames(10, 32, 24):
            sink.write(frame)
    frames, info = read_back(out)
    assert len(frames) == 10
    assert info["audio"] == ["aac"]
    with av.open(str(clip)) as src:
        expected = sum(1 for p in src.demux(audio=0) if p.size)
    assert info["audio_packets"] >= expected - 2  # copied, not dropped (a packet or two past the video end may go)


def test_file_sink_fragments_video_and_copied_audio(tmp_path: Path) -> None:
    """mp4 fragments every second (crash-safe, tests/sinks/test_file_crash.py), audio inside them; mkv too."""
    clip = tmp_path / "in.mp4"
    make_clip_with_audio(clip, seconds=3.0)
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        with open_sink(f"file:{out}", size=(32, 24), fps=10, audio_from=str(clip)) as sink:
            for frame in colour_frames(30, 32, 24):
                sink.write(frame)
        frames, info = read_back(out)
        assert len(frames) == 30 and info["audio"] == ["aac"] and info["audio_packets"] > 40
        if suffix == ".mp4":
            data = out.read_bytes()
            assert data.count(b"moof") >= 3 and b"mfra" in data  # fragments, and finalised on close


def test_file_sink_without_audio_in_source(tmp_path: Path) -> None:
    clip = tmp_path / "silent.mp4"
    with FileSink(clip, (32, 24), 10) as sink:
        sink.write(colour_frames(1, 32, 24)[0])
    out = tmp_path / "out.mp4"
    with FileSink(out, (32, 24), 10, audio_from=clip) as sink:
        sink.write(colour_frames(1, 32, 24)[0])
    assert read_back(out)[1]["audio"] == []


def test_file_sink_finalised_after_interruption(tmp_path: Path) -> None:
    """A run stopped half-way (the pipeline calls close() on Ctrl-C) leaves a playable file with what was written."""
    path = tmp_path / "partial.mp4"
    sink = FileSink(path, (64, 48), 30)
    try:
        for frame in colour_frames(20):
            sink.write(frame)
            if frame.index == 6:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        sink.close()
    sink.close()  # idempotent
    frames, _ = read_back(path)
    assert len(frames) == 7


def test_file_sink_disk_full_is_a_sink_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = FileSink(tmp_path / "full.mp4", (64, 48), 30)
    frames = colour_frames(40)
    sink.write(frames[0])

    class FullDisk:
        def __init__(self, real: object) -> None:
            self.real = real

        def mux(self, packet: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

    monkeypatch.setattr(sink, "_container", FullDisk(sink._container))
    with pytest.raises(SinkError, match="No space left on device"):
        for frame in frames[1:]:  # x264 buffers a few frames before the first packet comes out
            sink.write(frame)
    with pytest.raises(SinkError):
        sink.write(frames[-1])  # broken for good
    sink.close()  # never raises


@pytest.mark.parametrize("spec", ["file:out.txt", "file:", "folder:", "http:99999", "http:abc", "nope", "", "tee"])
def test_bad_sink_specs(spec: str) -> None:
    with pytest.raises(SinkError):
        open_sink(spec, size=(32, 24), fps=10)


def test_folder_sink_keeps_input_names(tmp_path: Path) -> None:
    with open_sink(f"folder:{tmp_path / 'out'}", size=(64, 48), fps=10, names=["a.jpg", "b.png", "c.jpeg"]) as sink:
        frames = colour_frames(3)
        for frame in frames:
            sink.write(frame)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png"]
    back = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / "b.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, frames[1].image)  # lossless, RGB kept


def test_folder_sink_numbers_frames(tmp_path: Path) -> None:
    with open_sink(f"folder:{tmp_path}", size=(64, 48), fps=10) as sink:
        for frame in colour_frames(3)[::2]:  # indices 0 and 2: numbering follows arrival
            sink.write(frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000.png", "000001.png"]


def test_folder_sink_on_a_file_is_a_sink_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SinkError):
        open_sink(f"folder:{blocker}", size=(8, 8), fps=10)
