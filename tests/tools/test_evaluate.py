"""tools.evaluate / make_gallery: the figures are right on cases whose answer is known (tiny images, tiny model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from livestyle.errors import ModelError  # noqa: E402
from livestyle.stylize.card import load_card  # noqa: E402
from tools import evaluate as ev  # noqa: E402
from tools.make_gallery import make_grid  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _img(seed: int, h: int = 32, w: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def spec() -> ev.LossSpec:
    return ev.LossSpec.from_recipe({"content_layers": ["relu2_2"], "style_layers": ["relu1_2", "relu2_2", "relu3_3"],
                                    "content_weight": 1.0, "style_weight": 30.0, "tv_weight": 1e-6, "style_size": None})


@pytest.fixture()
def tiny_card(tmp_path: Path) -> Path:
    """A copy of the tiny test model with a style image, as a style model card."""
    for f in ("tiny-test.json", "tiny-test.onnx"):
        shutil.copy(FIXTURES / f, tmp_path / f)
    cv2.imwrite(str(tmp_path / "style.png"), _img(7, 40, 40))
    card = json.loads((tmp_path / "tiny-test.json").read_text())
    card.update(style_image="style.png", variant="lite", training={"recipe": {"style_weight": 30.0,
                "content_layers": ["relu2_2"], "style_layers": ["relu1_2", "relu2_2"]}})
    (tmp_path / "tiny-test.json").write_text(json.dumps(card, indent=2) + "\n")
    return tmp_path / "tiny-test.json"


def test_style_distance_of_style_to_itself_is_zero(spec):
    style = _img(1)
    loss = ev.build_loss(spec, style)
    t = ev.loss_terms(loss, style, style)
    assert t["style"] == pytest.approx(0.0, abs=1e-9)
    assert t["content"] == pytest.approx(0.0, abs=1e-9)
    assert t["total"] == pytest.approx(spec.tv_weight * t["tv"], rel=1e-5)
    other = ev.loss_terms(loss, _img(2), style)
    assert other["style"] > 0.01 and other["content"] > 0.01
    assert other["total"] == pytest.approx(spec.content_weight * other["content"] + spec.style_weight * other["style"]
                                           + spec.tv_weight * other["tv"], rel=1e-5)


def test_total_ratio():
    rows = [{"total": 2.0}, {"total": 4.0}]
    assert ev.total_ratio(rows, rows) == 1.0
    assert ev.total_ratio([{"total": 3.0}, {"total": 9.0}], rows) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        ev.total_ratio(rows, rows[:1])


def test_loss_spec_from_card_and_defaults():
    from tools.perceptual import LossConfig

    d = ev.LossSpec.from_card(load_card(FIXTURES / "tiny-test.json"))  # records no recipe
    assert d.source == "defaults" and d.style_weight == LossConfig().style_weight
    assert d.style_layers == LossConfig().style_layers
    s = ev.LossSpec.from_recipe({"style_layers": "relu1_2,relu2_2", "style_weight": 30, "style_size": 256})
    assert s.source == "card" and s.style_layers == ("relu1_2", "relu2_2") and s.style_size == 256
    assert s.content_layers == LossConfig().content_layers


def test_gatys_reference_is_cached_and_lowers_the_loss(spec, tmp_path, monkeypatch):
    style, photo = _img(3), _img(4)
    loss = ev.build_loss(spec, style)
    g = ev.gatys_reference(spec, style, photo, iters=6, cache_dir=tmp_path)
    assert g.shape == photo.shape and g.dtype == np.uint8
    assert ev.loss_terms(loss, g, photo)["total"] < ev.loss_terms(loss, photo, photo)["total"]
    assert len(list(tmp_path.glob("*.png"))) == 1

    import tools.gatys

    def boom(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(tools.gatys, "stylize_image", boom)
    np.testing.assert_array_equal(ev.gatys_reference(spec, style, photo, iters=6, cache_dir=tmp_path), g)
    # A different recipe is a different optimum: not served from the cache.
    other = ev.LossSpec(**{**spec.__dict__, "style_weight": 5.0})
    assert ev.gatys_key(other, style, photo, 6) != ev.gatys_key(spec, style, photo, 6)


def _photos_and_clip(tmp_path):
    """Two small photo files and a three-frame panning clip, the inputs of an end-to-end evaluation."""
    photos = []
    for i in range(2):
        p = tmp_path / f"p{i}.png"
        cv2.imwrite(str(p), _img(10 + i, 30, 44))
        photos.append(str(p))
    frames = [np.roll(_img(20, 32, 48), 2 * t, axis=1) for t in range(3)]
    return photos, frames


def test_evaluate_model_end_to_end_and_card_metrics(tiny_card, tmp_path):
    photos, frames = _photos_and_clip(tmp_path)
    settings = ev.EvalSettings(size=40, photos=tuple(photos), gatys_photos=tuple(photos[:1]), gatys_iters=3)
    card = load_card(tiny_card)
    r = ev.evaluate_model(card, settings, cache_dir=tmp_path / "cache", clip=(frames, None), log=lambda m: None)
    assert r["loss"]["source"] == "card" and r["loss"]["style_weight"] == 30.0
    assert r["gatys"]["gatys_mean"]["total"] > 0 and r["total_ratio"] > 0
    # The subset ratio is exactly the model's subset total over Gatys's.
    assert r["total_ratio"] == pytest.approx(r["gatys"]["model_mean"]["total"] / r["gatys"]["gatys_mean"]["total"])
    assert set(r["warping_error"]) >= {"per_frame", "blended", "input"}
    assert all(np.isfinite(r["warping_error"][k]) for k in ("per_frame", "blended", "input"))
    assert set(r["artefacts"]["per_photo"]) == set(photos) and isinstance(r["artefacts"]["flagged"], bool)

    before = tiny_card.read_text()
    ev.set_card_metrics(tiny_card, ev.card_metrics(r))
    after = tiny_card.read_text()
    assert json.loads(after)["metrics"]["total_ratio_vs_gatys"] == pytest.approx(r["total_ratio"], rel=1e-3)
    strip = lambda t: {k: v for k, v in json.loads(t).items() if k != "metrics"}  # noqa: E731
    assert strip(after) == strip(before)
    assert after.split('"metrics"')[0] == before.split('"metrics"')[0]  # bytes before the metrics key unchanged
    load_card(tiny_card).verify("fp32")  # sha256 still valid
    # Cached: a second call does not recompute (and returns the same figures).
    assert ev.evaluate_model(card, settings, cache_dir=tmp_path / "cache", clip=(frames, None),
                             log=lambda m: None) == r
    # "cached" mode leaves out photos without a cached reference instead of optimising.
    more = ev.EvalSettings(**{**settings.__dict__, "gatys_photos": tuple(photos)})
    r2 = ev.evaluate_model(card, more, cache_dir=tmp_path / "cache", clip=(frames, None), gatys="cached",
                           log=lambda m: None)
    assert r2["gatys"]["photos"] == photos[:1] and r2["total_ratio"] == pytest.approx(r["total_ratio"])
    for png in (tmp_path / "cache" / "gatys").glob("*.png"):
        png.unlink()
    r3 = ev.evaluate_model(card, settings, cache_dir=tmp_path / "cache", clip=(frames, None), gatys="cached",
                           log=lambda m: None)
    assert r3["total_ratio"] is None and r3["gatys"]["photos"] == []
    assert ev.card_metrics(r3)["total_ratio_vs_gatys"] is None


def test_set_card_metrics_refuses_reformatted_card(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"name": "x", "metrics": {}}))  # not indent=2
    with pytest.raises(ModelError):
        ev.set_card_metrics(p, {"a": 1})


def test_markdown_table_has_one_row_per_model():
    r = {"model": "m-lite", "params": 12345, "model_mean": {"style": 0.1, "content": 0.5, "total": 3.1},
         "gatys": {"photos": ["a", "b"], "model_mean": {"total": 3.0}, "gatys_mean": {"total": 2.0}},
         "total_ratio": 1.5, "target_ratio": 2.0, "warping_error": {"per_frame": 0.004, "blended": 0.002}}
    none = {**r, "model": "m-x", "total_ratio": None, "gatys": {"photos": [], "model_mean": None, "gatys_mean": None}}
    lines = ev.markdown_table([r, {**r, "model": "m-full", "target_ratio": 1.4}, none]).splitlines()
    assert len(lines) == 5 and "**1.50** (2.0) ✓" in lines[2] and "✗" in lines[3] and "not measured" in lines[4]
    assert "| 3.000 / 2.000 | 2 |" in lines[2] and "| 4.00 | 2.00 |" in lines[2]


def test_gallery_grid_shape():
    rows = [[_img(i + j, 30, 40) for j in range(4)] for i in range(3)]
    grid = make_grid(rows, cell=(64, 48), labels=["photo", "a", "b", "c"], gap=2, header=20)
    assert grid.dtype == np.uint8
    assert grid.shape == (20 + 3 * 48 + 4 * 2, 4 * 64 + 5 * 2, 3)
    with pytest.raises(ValueError):
        make_grid(rows, cell=(64, 48), labels=["too", "few"])


def test_eval_path_is_checked_and_product_path_runs_like_the_cli(tiny_card):
    from livestyle.errors import ConfigError

    with pytest.raises(ConfigError):
        ev.EvalSettings(path="fast")
    card = load_card(tiny_card)
    photo = _img(3, 64, 96)
    assert ev.stylize_product(card, photo).shape == photo.shape


def test_scale_runs_the_product_path_at_that_scale(tiny_card, monkeypatch):
    """--scale is the product's speed option: only on the product path, in range, the network fed
    scale x the photo's size, and named in the table so its rows are not mistaken for the default run."""
    from livestyle.errors import ConfigError
    from livestyle.stylize.stylizer import Stylizer

    for bad in ({"path": "native", "scale": 0.5}, {"path": "product", "scale": 0.01}):
        with pytest.raises(ConfigError):
            ev.EvalSettings(**bad)
    card = load_card(tiny_card)
    photo = _img(3, 64, 96)
    fed = []
    infer = Stylizer.infer
    monkeypatch.setattr(Stylizer, "infer", lambda self, x: fed.append(x.shape) or infer(self, x))
    out = ev.EvalSettings(path="product", scale=0.5).stylize(card, photo)
    assert out.shape == photo.shape
    assert len(fed) == 1 and {32, 48} <= set(fed[0]) and 64 not in fed[0]
    assert ev.path_label({"path": "product", "scale": 0.5}) == "product @ scale 0.5"
    assert ev.path_label({"path": "product", "scale": None}) == "product"


def test_resampled_path_loses_the_detail_the_budget_cannot_hold(tiny_card, monkeypatch):
    """The half-size ceiling: the native output through the budget's resampling. Under the budget it is the
    native output; above it, fine texture (a pixel checkerboard the photo lacks) is lost."""
    card = load_card(tiny_card)
    photo = _img(3, 64, 96)
    native = ev.stylize_native(card, photo)
    assert np.array_equal(ev.stylize_resampled(card, photo, budget=(96, 64)), native)
    checker = (np.indices((64, 96)).sum(axis=0) % 2 * 120).astype(np.uint8)[..., None].repeat(3, axis=2)
    textured = cv2.add(native, checker)  # an output with texture finer than the budget's pixels
    monkeypatch.setattr(ev, "stylize_native", lambda _card, _photo: textured)
    out = ev.stylize_resampled(card, photo, budget=(48, 32))
    high = lambda img: np.abs(np.diff(img.astype(np.float32), axis=1)).mean()  # noqa: E731
    assert out.shape == photo.shape
    assert high(out) < 0.5 * high(textured)


def test_gatys_refs_from_card_metrics_give_the_same_ratio(tiny_card, tmp_path):
    photos, frames = _photos_and_clip(tmp_path)
    settings = ev.EvalSettings(size=40, photos=tuple(photos), gatys_photos=tuple(photos), gatys_iters=3)
    card = load_card(tiny_card)
    r = ev.evaluate_model(card, settings, cache_dir=tmp_path / "cache", clip=(frames, None), log=lambda m: None)
    ev.set_card_metrics(tiny_card, ev.card_metrics(r))
    refs = ev.gatys_refs_from_cards([load_card(tiny_card)])
    assert len(refs) == 1
    r2 = ev.evaluate_model(card, settings, cache_dir=tmp_path / "cache2", clip=(frames, None), gatys="refs",
                           refs=refs, log=lambda m: None)
    assert r2["total_ratio"] == pytest.approx(r["total_ratio"], rel=1e-3)
    assert r2["gatys"]["photos"] == photos and "card metrics" in r2["gatys"]["source"]
    other = ev.EvalSettings(**{**settings.__dict__, "gatys_iters": 4})   # another optimum: no reference
    assert ev.evaluate_model(card, other, cache_dir=tmp_path / "cache2", clip=(frames, None), gatys="refs",
                             refs=refs, log=lambda m: None)["total_ratio"] is None
