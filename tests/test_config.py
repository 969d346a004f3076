"""Option parsers: good values parse, bad ones raise one-line ConfigErrors that say what to write."""

from __future__ import annotations

import pytest

from livestyle.config import (BenchConfig, EffectsConfig, ModelConfig, SinkSpec, parse_device, parse_mask,
                              parse_port, parse_positive_int, parse_scale, parse_sink_spec, parse_size,
                              parse_strength, parse_styles)
from livestyle.errors import ConfigError


@pytest.mark.parametrize("text,expected", [("640x480", (640, 480)), (" 1280X720 ", (1280, 720)), ("8x8", (8, 8))])
def test_parse_size(text, expected) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "640", "640x", "x480", "640*480", "-640x480", "0x0", "4x480", "99999x10",
                                  "640x480x3", "6.4x4.8", "abc"])
def test_parse_size_rejects(text) -> None:
    with pytest.raises(ConfigError, match="size") as err:
        parse_size(text)
    assert "\n" not in str(err.value)


def test_numbers() -> None:
    assert parse_scale("0.5") == 0.5 and parse_strength("0") == 0.0 and parse_strength("1") == 1.0
    for bad in ("0", "-1", "5", "nan", "inf", "x"):
        with pytest.raises(ConfigError, match="scale"):
            parse_scale(bad)
    for bad in ("1.01", "-0.1", "nan", "", "half"):
        with pytest.raises(ConfigError, match="strength"):
            parse_strength(bad)
    with pytest.raises(ConfigError, match="temporal strength"):
        parse_strength("2", "temporal strength")


def test_choices() -> None:
    assert parse_device("CUDA") == "cuda" and parse_mask("person") == "person"
    with pytest.raises(ConfigError, match="auto, cpu, cuda, tensorrt"):
        parse_device("gpu")
    with pytest.raises(ConfigError, match="none, background, person"):
        parse_mask("face")


def test_ints_and_styles() -> None:
    assert parse_port("8080") == 8080 and parse_positive_int("12") == 12
    for bad in ("0", "65536", "-1", "80a", "", "١٢"):
        with pytest.raises(ConfigError, match="port"):
            parse_port(bad)
    with pytest.raises(ConfigError):
        parse_positive_int("0")
    assert parse_styles("a, b,,c") == ("a", "b", "c")
    with pytest.raises(ConfigError):
        parse_styles(" , ")


@pytest.mark.parametrize("text,expected", [
    ("preview", SinkSpec("preview")), ("vcam", SinkSpec("vcam")), ("file:out.mp4", SinkSpec("file", "out.mp4")),
    ("folder:/tmp/x", SinkSpec("folder", "/tmp/x")), ("http:8080", SinkSpec("http", "8080")),
    ("file:C:/video.mp4", SinkSpec("file", "C:/video.mp4")), ("vcam:/dev/video2", SinkSpec("vcam", "/dev/video2")),
    ("http:0", SinkSpec("http", "0"))])
def test_sink_specs(text, expected) -> None:
    spec = parse_sink_spec(text)
    assert spec == expected and str(spec) == text


@pytest.mark.parametrize("text", ["", "file", "file:", "folder:", "http:", "http:99999", "http:x", "http:-1", "preview:1",
                                  "rtmp:1", "screen"])
def test_bad_sink_specs(text) -> None:
    with pytest.raises(ConfigError, match="sink|port"):
        parse_sink_spec(text)


def test_dataclasses_validate() -> None:
    with pytest.raises(ConfigError):
        ModelConfig(size=(64, 64), scale=0.5)
    with pytest.raises(ConfigError):
        ModelConfig(device="gpu")
    with pytest.raises(ConfigError):
        EffectsConfig(strength=2.0)
    with pytest.raises(ConfigError):
        EffectsConfig(mask="face")
    d = BenchConfig().describe()
    assert d["source"] == "synth:640x480" and d["pipelined"] is True and d["frames"] == 200


def test_warp_modes_are_interpolations_the_blender_knows() -> None:
    """config.WARP_MODES is spelled out (config stays free of cv2); it must not drift from the warp module's list."""
    from livestyle.config import WARP_MODES, parse_warp
    from livestyle.temporal.warp import INTERPOLATIONS

    assert WARP_MODES[0] == "cubic" and set(WARP_MODES) <= set(INTERPOLATIONS)
    assert parse_warp(" Linear ") == "linear"
