"""Providers and the Stylizer with the tiny committed model: sizes, dtypes, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from livestyle.errors import BackendUnavailable, ConfigError, ModelError
from livestyle.stylize import Stylizer, choose_providers, load_card
from livestyle.stylize.providers import probe
from livestyle.stylize.upsample import guided_upsample, upsample


@pytest.fixture(scope="module")
def tiny(fixtures_dir: Path):
    return load_card(fixtures_dir / "tiny-test.json")


@pytest.fixture(scope="module")
def stylizer(tiny):
    return Stylizer(tiny, device="cpu", threads=1)


def test_cpu_provider_is_what_the_session_got(stylizer) -> None:
    assert stylizer.provider == "CPUExecutionProvider" and stylizer.device == "cpu"
    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(ConfigError):
        choose_providers("gpu")


@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_explicit_gpu_request_never_falls_back(tiny, device) -> None:
    if probe(device) is None:
        pytest.skip(f"{device} really works on this machine")
    with pytest.raises(BackendUnavailable) as exc:
        Stylizer(tiny, device=device)
    assert "pip install" in str(exc.value) and "\n" not in str(exc.value)


def test_auto_picks_something_that_runs(tiny) -> None:
    s = Stylizer(tiny, device="auto", threads=1)
    assert s.provider in ort.get_available_providers()
    assert s.provider == s.session.get_providers()[0]


@pytest.mark.parametrize("h, w", [(31, 17), (1, 1), (479, 641), (240, 320)])
def test_output_size_and_dtype_at_odd_sizes(stylizer, h, w) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = stylizer(rgb)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_native_size_pads_instead_of_resampling(stylizer) -> None:
    """Odd sizes run at native resolution: pixels away from the padded border match a run on the even crop."""
    rgb = np.random.default_rng(1).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    a = stylizer(rgb)
    b = stylizer(np.ascontiguousarray(rgb[:32, :46]))
    assert np.abs(a[:24, :38].astype(int) - b[:24, :38]).max() <= 1


def test_processing_size_rules(tiny) -> None:
    s = Stylizer(tiny, device="cpu", size=(321, 241), threads=1)
    assert s.processing_size(640, 480) == (322, 242)  # rounded to the size multiple (2)
    t = Stylizer(tiny, device="cpu", scale=0.5, threads=1)
    assert t.processing_size(640, 480) == (320, 240)
    x = t.preprocess(np.zeros((480, 640, 3), np.uint8))
    assert x.shape == (1, 3, 240, 320) and x.dtype == np.float32
    assert t(np.zeros((480, 640, 3), np.uint8)).shape == (480, 640, 3)
    with pytest.raises(ConfigError):
        Stylizer(tiny, device="cpu", size=(320, 240), scale=0.5)


def test_recommended_size_keeps_aspect(tmp_path, fixtures_dir) -> None:
    data = json.loads((fixtures_dir / "tiny-test.json").read_text())
    data["recommended_size"] = [320, 240]
    shutil.copy(fixtures_dir / "tiny-test.onnx", tmp_path / "tiny-test.onnx")
    (tmp_path / "rec.json").write_text(json.dumps(data))
    s = Stylizer(tmp_path / "rec.json", device="cpu", threads=1)
    assert s.processing_size(640, 480) == (320, 240)
    w, h = s.processing_size(1280, 720)
    assert abs(w / h - 16 / 9) < 0.02 and abs(w * h - 320 * 240) < 0.03 * 320 * 240
    assert s.processing_size(160, 120) == (160, 120)  # smaller frames run as they are


@pytest.mark.parametrize("payload, match", [
    (b"not an onnx model", "not a valid ONNX"),
    (None, "rank"),
])
def test_bad_model_is_a_model_error(tmp_path, fixtures_dir, payload, match) -> None:
    data = json.loads((fixtures_dir / "tiny-test.json").read_text())
    data["sha256"] = {}
    path = tmp_path / "m.onnx"
    if payload is None:  # a valid ONNX file whose input is not an image (from the providers' probe model)
        from livestyle.stylize.providers import _PROBE_MODEL

        path.write_bytes(_PROBE_MODEL)
        data["input"]["name"], data["output"]["name"] = "x", "y"
    else:
        path.write_bytes(payload)
    data["files"] = {"fp32": path.name}
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match=match):
        Stylizer(tmp_path / "m.json", device="cpu")


def test_wrong_input_name_in_card(tmp_path, fixtures_dir) -> None:
    data = json.loads((fixtures_dir / "tiny-test.json").read_text())
    data["input"]["name"] = "image"
    shutil.copy(fixtures_dir / "tiny-test.onnx", tmp_path / "tiny-test.onnx")
    (tmp_path / "n.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="input.name"):
        Stylizer(tmp_path / "n.json", device="cpu")


def test_rejects_non_rgb_uint8(stylizer) -> None:
    with pytest.raises(ConfigError):
        stylizer(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("method", ["guided", "fgf", "bilinear", "bicubic"])
def test_upsampling_preserves_size(method) -> None:
    rng = np.random.default_rng(2)
    low = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    guide = rng.integers(0, 256, (121, 163, 3), dtype=np.uint8)
    out = upsample(low, (163, 121), guide=guide, method=method)
    assert out.shape == (121, 163, 3) and out.dtype == np.uint8


def test_guided_upsampling_is_sharper_than_bilinear_at_edges() -> None:
    """A step edge in the guide: guided upsampling of the blurred low-res copy recovers the edge."""
    guide = np.zeros((96, 128, 3), np.uint8)
    guide[:, 64:] = 200
    low = (guide[::4, ::4].astype(np.float32) * 0.5 + 20).astype(np.uint8)  # "stylized" = affine of the guide
    bil = upsample(low, (128, 96), method="bilinear").astype(float)
    gui = guided_upsample(low, guide).astype(float)
    ref = guide.astype(float) * 0.5 + 20
    assert np.abs(gui - ref).mean() < 0.5 * np.abs(bil - ref).mean()


def test_default_guided_upsampling_recovers_guide_detail() -> None:
    """Identity 'style' (low = downscaled guide): guided upsampling must be much closer to the guide than bilinear."""
    rng = np.random.default_rng(4)
    guide = np.full((120, 160, 3), 90, np.uint8)
    for _ in range(25):  # sharp-edged shapes: the detail a half-resolution run loses
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y, r = (int(v) for v in rng.integers(5, 115, 3))
        cv2.circle(guide, (x + 20, y), r // 4 + 2, colour, -1)
        cv2.line(guide, (x, 0), (y, 119), colour, 1)
    low = cv2.resize(guide, (80, 60), interpolation=cv2.INTER_AREA)
    err = {m: np.abs(upsample(low, (160, 120), guide=guide, method=m).astype(float) - guide).mean()
           for m in ("bilinear", "guided")}
    assert err["guided"] < 0.7 * err["bilinear"]


def test_shrink_halves_first_and_stays_a_box_average() -> None:
    import cv2

    from livestyle.stylize.stylizer import _shrink

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    direct = cv2.resize(img, (368, 208), interpolation=cv2.INTER_AREA)
    got = _shrink(img, (368, 208))
    assert got.shape == direct.shape and np.abs(got.astype(int) - direct).mean() < 1.0
    half = img[:480, :640]  # an exact factor of 2 takes OpenCV's own fast path: unchanged
    direct = cv2.resize(half, (320, 240), interpolation=cv2.INTER_AREA)
    assert np.array_equal(_shrink(half, (320, 240)), direct)
    odd = img[:481, :641]
    assert np.array_equal(_shrink(odd, (200, 150)), cv2.resize(odd, (200, 150), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("chw,bgr", [(True, False), (True, True), (False, False), (False, True)])
def test_to_rgb8_matches_the_numpy_reference(chw: bool, bgr: bool) -> None:
    from livestyle.stylize.stylizer import to_rgb8

    rng = np.random.default_rng(5)
    hwc = (rng.random((37, 51, 3)) * 1.4 - 0.2).astype(np.float32)  # some values saturate at both ends
    t = np.ascontiguousarray(hwc.transpose(2, 0, 1)) if chw else hwc
    keep = t.copy()
    out = to_rgb8(t, 255.0, 0.0, chw=chw, bgr=bgr)
    ref = np.clip(np.floor(hwc * 255.0 + 0.5), 0, 255).astype(np.uint8)
    if bgr:
        ref = ref[..., ::-1]
    assert out.shape == (37, 51, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    diff = np.abs(out.astype(int) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # only exact .5 ties may round the other way
    assert np.array_equal(t, keep)  # the caller's tensor is untouched
