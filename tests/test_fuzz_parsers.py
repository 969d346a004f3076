"""Fuzz every user-facing parser: any input gives a value or the package's own one-line error, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from livestyle import config
from livestyle.errors import ConfigError, ModelError, SourceError

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
texts = st.one_of(st.text(max_size=40), st.from_regex(r"\s*-?\d{0,6}\s*[xX]\s*-?\d{0,6}\s*", fullmatch=True),
                  st.from_regex(r"(preview|vcam|file|folder|http|synth|cam)(:.{0,12})?", fullmatch=True))


def _check(fn, text):
    try:
        return fn(text)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None


@FAST
@given(texts)
def test_config_parsers(text: str) -> None:
    size = _check(config.parse_size, text)
    if size is not None:
        assert all(config.MIN_SIDE <= v <= config.MAX_SIDE for v in size)
    scale = _check(config.parse_scale, text)
    if scale is not None:
        assert 0 < scale <= config.MAX_SCALE
    s = _check(config.parse_strength, text)
    if s is not None:
        assert 0.0 <= s <= 1.0
    assert _check(config.parse_device, text) in (None, *config.DEVICES)
    assert _check(config.parse_mask, text) in (None, *config.MASK_MODES)
    port = _check(config.parse_port, text)
    assert port is None or 1 <= port <= 65535
    _check(config.parse_positive_int, text)
    _check(config.parse_styles, text)
    spec = _check(config.parse_sink_spec, text)
    if spec is not None:
        assert spec.kind in config.SINK_SPEC_KINDS
        assert config.parse_sink_spec(str(spec)) == spec  # round trip


@FAST
@given(st.one_of(st.text(max_size=30), st.from_regex(r"(synth|synth-still|cam)(:.{0,10})?", fullmatch=True)))
@example("~\x00")  # found by hypothesis in session 22: expanduser raised ValueError
def test_source_specs(text: str) -> None:
    from livestyle.capture.registry import parse_source_spec

    try:
        spec = parse_source_spec(text)
    except SourceError as exc:
        assert "\n" not in str(exc)
    else:
        assert spec.kind in ("camera", "stream", "video", "folder", "image", "synth", "synth-still")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20)
card_like = st.fixed_dictionaries(
    {}, optional={"schema": json_values, "name": json_values, "style": json_values, "title": json_values,
                  "variant": st.sampled_from(["lite", "full", "test", "x"]) | json_values,
                  "files": st.dictionaries(st.sampled_from(["fp32", "fp16", "x"]), json_values, max_size=2)
                  | json_values,
                  "input": json_values, "output": json_values, "size_multiple": json_values,
                  "recommended_size": json_values, "style_image": json_values, "sha256": json_values})


@FAST
@given(st.one_of(json_values, card_like), st.booleans())
def test_model_card_parser(data, raw: bool) -> None:
    from livestyle.stylize.card import load_card

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "card.json"
        path.write_text(json.dumps(data) if not raw or not isinstance(data, str) else data)
        try:
            load_card(path)
        except ModelError as exc:
            assert "\n" not in str(exc)
