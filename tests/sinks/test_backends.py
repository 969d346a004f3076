"""Preview window and virtual camera: hotkeys map to ACTIONS, and missing backends say how to set them up."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from livestyle.errors import BackendUnavailable, LivestyleError
from livestyle.frames import Frame
from livestyle.sinks import ACTIONS, SINK_KINDS, default_sink_spec, open_sink
from livestyle.sinks.actions import KEYMAP, action_for_key
from livestyle.sinks.preview import draw_status, gui_available
from livestyle.sinks.vcam import setup_hint


def test_kinds_table() -> None:
    assert [k.kind for k in SINK_KINDS] == ["preview", "vcam", "file", "folder", "http"]


@pytest.mark.parametrize(
    "key,action",
    [("q", "quit"), ("\x1b", "quit"), ("n", "next_style"), ("p", "prev_style"), (" ", "toggle_stylize"),
     ("t", "toggle_temporal"), ("+", "strength_up"), ("-", "strength_down"), ("]", "temporal_up"),
     ("[", "temporal_down"), ("c", "toggle_colors"), ("m", "next_mask"), ("N", "next_style")],
)
def test_hotkeys(key: str, action: str) -> None:
    assert action_for_key(ord(key)) == action


def test_keymap_covers_every_action_and_nothing_else() -> None:
    assert set(KEYMAP.values()) == set(ACTIONS)
    assert action_for_key(-1) is None
    assert action_for_key(ord("z")) is None
    assert action_for_key(65363) == "next_style"  # right arrow (GTK)


def test_status_overlay_draws_text_on_a_copy() -> None:
    image = np.full((120, 320, 3), 200, np.uint8)
    out = draw_status(image, "style 2/3: starry night")
    assert (image == 200).all()
    assert out.shape == image.shape and out.dtype == np.uint8
    assert (out[-30:] != 200).any() and (out[:60] == 200).all()


def test_default_sink_spec_without_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    expected = "preview" if gui_available() and sys.platform.startswith(("win", "darwin")) else "file:livestyle-output.mp4"
    assert default_sink_spec() == expected


@pytest.mark.skipif(gui_available(), reason="this OpenCV has GUI support")
def test_preview_on_headless_opencv_says_what_to_install() -> None:
    with pytest.raises(BackendUnavailable, match="pip install opencv-python"):
        open_sink("preview", size=(64, 48), fps=30)


def _vcam_device_present() -> bool:
    try:
        import pyvirtualcam

        with pyvirtualcam.Camera(width=64, height=48, fps=30):
            return True
    except Exception:  # noqa: BLE001 - any failure means: no usable device here
        return False


@pytest.mark.skipif(_vcam_device_present(), reason="a virtual camera device exists here")
def test_missing_virtual_camera_gives_the_setup_hint() -> None:
    with pytest.raises(LivestyleError) as info:
        open_sink("vcam", size=(64, 48), fps=30)
    message = str(info.value)
    assert "\n" not in message
    if sys.platform.startswith("linux"):
        assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1" in message
    else:
        assert "OBS" in message
    assert "livestyle[virtualcam]" in message


def test_missing_pyvirtualcam_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # import fails
    with pytest.raises(BackendUnavailable, match=r"pip install 'livestyle\[virtualcam\]'"):
        open_sink("vcam", size=(64, 48), fps=30)


def test_setup_hint_per_os() -> None:
    assert "modprobe v4l2loopback" in setup_hint("linux")
    assert "OBS" in setup_hint("win32") and "OBS" in setup_hint("darwin")


@pytest.mark.virtualcam
def test_real_virtual_camera_takes_frames() -> None:
    sink = open_sink("vcam", size=(64, 48), fps=30)
    try:
        for i in range(5):
            sink.write(Frame(np.full((48, 64, 3), 50 * i, np.uint8), i))
    finally:
        sink.close()
        sink.close()
