"""Model cards: valid cards load, every malformed card is one ModelError line, paths resolve beside the card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from livestyle.errors import ModelError
from livestyle.stylize.card import load_card, parse_card
from livestyle.stylize.registry import default_model, find_model, list_models


@pytest.fixture()
def tiny_card(fixtures_dir: Path) -> dict:
    return json.loads((fixtures_dir / "tiny-test.json").read_text())


def _write(folder: Path, name: str, data, fixtures_dir: Path, copy_model: bool = True) -> Path:
    if copy_model:
        shutil.copy(fixtures_dir / "tiny-test.onnx", folder / "tiny-test.onnx")
    path = folder / f"{name}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_tiny_card_loads_and_resolves_paths(fixtures_dir: Path) -> None:
    card = load_card(fixtures_dir / "tiny-test.json")
    assert card.name == "tiny-test" and card.variant == "test" and card.size_multiple == 2
    assert card.path == (fixtures_dir / "tiny-test.onnx").resolve()
    assert card.model_path("fp16") == card.path  # no fp16 variant: falls back to fp32
    assert card.verify() == card.path
    assert load_card(fixtures_dir / "tiny-test.onnx").name == "tiny-test"  # .onnx finds its card


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.pop("name"), '"name"'),
    (lambda d: d.update(files={}), '"files"'),
    (lambda d: d.update(files={"int8": "x.onnx", "fp32": "tiny-test.onnx"}), "int8"),
    (lambda d: d.update(variant="huge"), "variant"),
    (lambda d: d.update(schema=2), "schema"),
    (lambda d: d["input"].update(layout="NWHC"), "input.layout"),
    (lambda d: d["output"].update(range=[255, 0]), "output.range"),
    (lambda d: d.update(size_multiple=0), "size_multiple"),
    (lambda d: d.update(recommended_size=[320]), "recommended_size"),
    (lambda d: d.update(sha256={"fp32": "abc"}), "sha256"),
    (lambda d: d.update(metrics=[1, 2]), "metrics"),
])
def test_bad_fields_raise_one_line(tmp_path, fixtures_dir, tiny_card, mutate, needle) -> None:
    mutate(tiny_card)
    path = _write(tmp_path, "bad", tiny_card, fixtures_dir)
    with pytest.raises(ModelError) as exc:
        load_card(path)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg and "bad.json" in msg


def test_not_json_missing_card_and_missing_model(tmp_path, fixtures_dir, tiny_card) -> None:
    with pytest.raises(ModelError, match="not valid JSON"):
        load_card(_write(tmp_path, "broken", "{not json", fixtures_dir))
    with pytest.raises(ModelError, match="not found"):
        load_card(tmp_path / "nope.json")
    tiny_card["files"] = {"fp32": "gone.onnx"}
    with pytest.raises(ModelError, match="missing"):
        load_card(_write(tmp_path, "gone", tiny_card, fixtures_dir))


def test_sha256_mismatch_is_an_error_when_verified(tmp_path, fixtures_dir, tiny_card) -> None:
    tiny_card["sha256"] = {"fp32": "0" * 64}
    card = load_card(_write(tmp_path, "tampered", tiny_card, fixtures_dir))
    with pytest.raises(ModelError, match="sha256"):
        card.verify()


@pytest.mark.parametrize("data", [None, 3, "x", [], [{}], {"files": None}, {"name": 5},
                                  {"name": "a", "files": {"fp32": 7}}, {"name": "a", "files": {"fp32": "a\x00b"}},
                                  {"name": "a", "files": {"fp32": "a.onnx"}, "input": {"name": "i", "range": ["a", 1]}},
                                  {"name": "a", "files": {"fp32": "a.onnx"}, "input": {"name": "i", "layout": []}}])
def test_parse_card_only_raises_model_error(tmp_path, data) -> None:
    with pytest.raises(ModelError):
        parse_card(data, tmp_path / "x.json")


def test_registry_default_and_find(tmp_path, fixtures_dir, tiny_card) -> None:
    with pytest.raises(ModelError, match="no lite model"):
        default_model(tmp_path)
    for name, variant in [("b_style-lite", "lite"), ("a_style-full", "full"), ("starry_night-lite", "lite")]:
        _write(tmp_path, name, dict(tiny_card, name=name, variant=variant), fixtures_dir)
    (tmp_path / "seg.json").write_text(json.dumps({"kind": "segmentation", "name": "seg"}))  # other kinds skipped
    assert [c.name for c in list_models(tmp_path)] == ["a_style-full", "b_style-lite", "starry_night-lite"]
    assert default_model(tmp_path).name == "starry_night-lite"
    (tmp_path / "starry_night-lite.json").unlink()
    assert default_model(tmp_path).name == "b_style-lite"
    assert find_model("a_style-full", tmp_path).variant == "full"
    assert find_model(fixtures_dir / "tiny-test.json").name == "tiny-test"
    with pytest.raises(ModelError, match="unknown model"):
        find_model("nope", tmp_path)
