"""Fuzz the source-spec and size parsers: any text gives a spec or a one-line SourceError, nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livestyle.capture.registry import parse_size, parse_source_spec
from livestyle.errors import SourceError

KINDS = {"camera", "stream", "video", "folder", "image", "synth", "synth-still"}
prefixes = st.sampled_from(["", "cam:", "synth:", "synth-still:", "rtsp://", "ftp://", "http://", "/nonexistent/"])


@settings(max_examples=300, deadline=None)
@given(prefixes, st.text(max_size=30))
def test_parse_source_spec_never_crashes(prefix: str, rest: str) -> None:
    try:
        spec = parse_source_spec(prefix + rest)
    except SourceError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert spec.kind in KINDS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parse_size_never_crashes(text: str) -> None:
    try:
        w, h = parse_size(text)
    except SourceError as exc:
        assert "\n" not in str(exc)
    else:
        assert 2 <= w <= 16384 and 2 <= h <= 16384


@given(st.integers(2, 16384), st.integers(2, 16384))
def test_parse_size_roundtrip(w: int, h: int) -> None:
    assert parse_size(f"{w}x{h}") == (w, h)
    assert parse_source_spec(f"synth:{w}x{h}").size == (w, h)
