"""Every source kind opens, yields RGB uint8 frames in order, and fails with a one-line SourceError."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livestyle.capture import SOURCE_KINDS, open_source
from livestyle.capture.base import FrameSource
from livestyle.capture.registry import SAMPLE_CLIP, default_source, parse_source_spec
from livestyle.errors import SourceError


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def solid(w: int, h: int, rgb: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((h, w, 3), np.uint8)
    image[:] = rgb
    return image


def read_all(source: FrameSource) -> list:
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_kinds_table_covers_every_kind() -> None:
    kinds = {k.kind for k in SOURCE_KINDS}
    assert kinds == {"camera", "stream", "video", "folder", "image", "synth", "synth-still"}
    for k in SOURCE_KINDS:
        if k.kind in ("synth", "synth-still", "camera"):
            assert parse_source_spec(k.example).kind == k.kind


def test_video_file_every_frame_in_order_rgb(tmp_path: Path) -> None:
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250)]
    path = tmp_path / "clip.mp4"
    write_video(path, [solid(64, 48, c) for c in colours], fps=10)
    with open_source(str(path)) as source:
        assert not source.is_live
        assert source.size == (64, 48)
        assert source.fps == pytest.approx(10.0)
        assert source.has_audio is False
        frames = read_all(source)
    assert [f.index for f in frames] == list(range(5))
    for frame, colour in zip(frames, colours):
        assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)
        assert np.abs(frame.image.reshape(-1, 3).mean(0) - colour).max() < 12  # RGB, not BGR
    assert source.read() is None  # closed


def test_video_file_resized(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, [solid(64, 48, (10, 20, 30))] * 2)
    with open_source(str(path), size=(32, 24)) as source:
        assert source.read().image.shape == (24, 32, 3)


def test_unreadable_video_is_a_source_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match="cannot read video") as info:
        open_source(str(bad))
    assert "\n" not in str(info.value)


def test_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="source not found"):
        open_source(str(tmp_path / "nope.mp4"))


def test_folder_sorted_naturally_every_frame_names_kept(tmp_path: Path) -> None:
    names = ["f10.png", "f2.png", "f1.jpg"]
    for i, name in enumerate(names):
        cv2.imwrite(str(tmp_path / name), solid(20, 10, (0, 0, 40 * (i + 1))))  # BGR on disk: red varies
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(str(tmp_path)) as source:
        assert source.names == ["f1.jpg", "f2.png", "f10.png"]
        assert source.frame_count == 3
        frames = read_all(source)
    assert [f.index for f in frames] == [0, 1, 2]
    reds = [int(f.image[..., 0].mean()) for f in frames]
    assert reds == pytest.approx([120, 80, 40], abs=3)  # f1 was written third (red 120), f2 second, f10 first


def test_folder_resizes_odd_sized_members_to_the_first(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), solid(20, 10, (1, 2, 3)))
    cv2.imwrite(str(tmp_path / "b.png"), solid(40, 30, (1, 2, 3)))
    with open_source(str(tmp_path)) as source:
        assert [f.image.shape for f in read_all(source)] == [(10, 20, 3), (10, 20, 3)]


def test_empty_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images in folder"):
        open_source(str(tmp_path))


def test_single_image_is_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), solid(16, 8, (255, 0, 0)))  # BGR blue
    with open_source(str(path)) as source:
        assert source.names == ["photo.png"]
        frames = read_all(source)
    assert len(frames) == 1
    assert tuple(frames[0].image[0, 0]) == (0, 0, 255)  # RGB blue


def test_corrupt_image_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(SourceError, match="cannot read image"):
        open_source(str(path))


def test_camera_that_will_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed:
        def __init__(self, *args: object) -> None:
            pass

        def isOpened(self) -> bool:  # noqa: N802
            return False

        def release(self) -> None:
            pass

    monkeypatch.setattr(cv2, "VideoCapture", Closed)
    with pytest.raises(SourceError, match="cannot open camera 7"):
        open_source("7")
    with pytest.raises(SourceError, match="cannot open stream rtsp://\\*\\*\\*@cam.local/live"):
        open_source("rtsp://user:secret@cam.local/live")


@pytest.mark.parametrize("spec", ["cam:x", "synth:0x10", "synth:abc", "ftp://host/x", "", "   "])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(SourceError):
        open_source(spec)


def test_default_source_falls_back_to_the_sample_clip(monkeypatch: pytest.MonkeyPatch) -> None:
    import livestyle.capture.registry as registry

    monkeypatch.setattr(registry, "_camera_may_exist", lambda: False)
    assert SAMPLE_CLIP.is_file()
    with default_source() as source:
        assert not source.is_live
        assert source.size == (640, 360)
        assert source.read().image.shape == (360, 640, 3)


def test_sample_clip_is_small_and_h264() -> None:
    assert SAMPLE_CLIP.stat().st_size < 2_000_000
    with av.open(str(SAMPLE_CLIP)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert 5.0 <= float(stream.duration * stream.time_base) <= 9.0
    credits = (SAMPLE_CLIP.parent / "README.md").read_text()
    assert "CC BY 4.0" in credits and "intel-iot-devkit/sample-videos" in credits
