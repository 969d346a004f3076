"""Fuzz the sink-spec parser: any text is a (kind, argument) pair or a one-line SinkError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livestyle.errors import SinkError
from livestyle.sinks.registry import SINK_KINDS, parse_sink

prefixes = st.sampled_from(["", "preview", "vcam:", "file:", "folder:", "http:", "HTTP:", "tee:"])


@settings(max_examples=300, deadline=None)
@given(prefixes, st.text(max_size=30))
def test_parse_sink_never_crashes(prefix: str, rest: str) -> None:
    try:
        kind, arg = parse_sink(prefix + rest)
    except SinkError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert kind in {k.kind for k in SINK_KINDS}
        if kind == "http":
            assert 0 <= int(arg) <= 65535


def test_examples_parse() -> None:
    for kind in SINK_KINDS:
        assert parse_sink(kind.example)[0] == kind.kind
