"""The OpenVINO CPU backend: same frames as ONNX Runtime (fp32 exactly, bf16 within a grey level), how ``auto``
picks it, and the errors a user can get from it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from livestyle.config import ModelConfig
from livestyle.errors import BackendUnavailable, ConfigError
from livestyle.stylize import Stylizer, find_model, list_models, load_card
from livestyle.stylize import openvino_backend as ovb
from livestyle.stylize.backends import open_stylizer, resolve_backend

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    rng = np.random.default_rng(7)
    base = np.linspace(0, 255, 160 * 120 * 3).reshape(120, 160, 3)
    return np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def lite():
    return find_model("starry_night-lite")


def test_fp32_matches_onnxruntime(lite, frame) -> None:
    ort_out = Stylizer(lite, device="cpu", threads=1)(frame)
    ov = open_stylizer(lite, backend="openvino", device="cpu", threads=1, precision="fp32")
    assert ov.provider == "OpenVINO CPU (fp32)" and ov.device == "cpu"
    out = ov(frame)
    assert out.shape == ort_out.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - ort_out.astype(int)).max() <= 1  # rounding of the same float result


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_bf16_stays_within_a_grey_level_on_average(name, frame) -> None:
    """Every bundled model, lite and full: bf16 is what a CPU with native bf16 runs by default."""
    card = find_model(name)
    ort_net = Stylizer(card, device="cpu", threads=1, size=(96, 64))
    ov = open_stylizer(card, backend="openvino", device="cpu", threads=1, precision="bf16", size=(96, 64))
    x = ort_net.preprocess(frame)
    ref, got = ort_net.infer(x), ov.infer(x)
    diff = np.abs(got.astype(np.float64) - ref)
    assert diff.mean() < 1.0 and diff.max() < 16.0, (diff.mean(), diff.max())


def test_one_compiled_model_per_shape_and_outputs_are_not_reused(lite) -> None:
    ov = open_stylizer(lite, backend="openvino", device="cpu", threads=1, precision="fp32")
    a = np.full((1, 3, 64, 64), 100.0, np.float32)
    b = np.full((1, 3, 32, 48), 200.0, np.float32)
    out_a = ov.infer(a)
    kept = out_a.copy()
    ov.infer(a * 0.5)  # the request's buffer is overwritten; the array the caller holds must not be
    out_b = ov.infer(b)
    assert np.array_equal(out_a, kept)
    assert out_a.shape[2:] == (64, 64) and out_b.shape[2:] == (32, 48)
    assert len(ov.session._compiled) == 2
    for side in range(40, 40 + 8 * ovb.MAX_SHAPES, 8):  # many photo sizes: only the most recent stay compiled
        ov.infer(np.zeros((1, 3, side, side), np.float32))
    assert len(ov.session._compiled) == ovb.MAX_SHAPES
    assert list(ov.session._compiled)[-1] == (1, 3, side, side)


def test_auto_picks_openvino_on_the_cpu_and_onnxruntime_otherwise(monkeypatch) -> None:
    assert resolve_backend("auto", "cpu") == "openvino"
    assert resolve_backend("auto", "cpu", precision="fp16") == "onnxruntime"  # an fp16 file is an ORT thing
    assert resolve_backend("auto", "cuda") == "onnxruntime"
    assert resolve_backend("onnxruntime", "cpu") == "onnxruntime"
    monkeypatch.setattr(ovb, "openvino_usable", lambda: False)
    assert resolve_backend("auto", "cpu") == "onnxruntime"


def test_auto_is_the_default_and_runs_openvino_here(fixtures_dir: Path) -> None:
    assert ModelConfig().backend == "auto"
    st = open_stylizer(load_card(fixtures_dir / "tiny-test.json"), device="cpu", threads=1)
    assert st.provider.startswith("OpenVINO CPU")


def test_precision_follows_the_cpu_and_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("LIVESTYLE_OV_PRECISION", raising=False)
    assert ovb.default_precision() == ("bf16" if ovb.native_bf16() else "fp32")
    monkeypatch.setenv("LIVESTYLE_OV_PRECISION", "fp32")
    assert ovb.default_precision() == "fp32"
    monkeypatch.setenv("LIVESTYLE_OV_PRECISION", "int4")
    with pytest.raises(ConfigError, match="LIVESTYLE_OV_PRECISION"):
        ovb.default_precision()


def test_user_mistakes_are_one_line_errors(lite, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="runs on the CPU"):
        open_stylizer(lite, backend="openvino", device="cuda")
    with pytest.raises(ConfigError, match="not available on OpenVINO"):
        open_stylizer(lite, backend="openvino", device="cpu", precision="fp16")
    with pytest.raises(ConfigError, match="needs --backend onnxruntime"):
        ModelConfig(backend="openvino", device="tensorrt")
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    with pytest.raises(BackendUnavailable, match="pip install openvino"):
        open_stylizer(lite, backend="openvino", device="cpu")


def test_the_pipeline_compiles_for_the_source_size_before_the_first_frame(lite) -> None:
    """The first live frame must not pay OpenVINO's compile (about 0.2 s: a latency spike in every short run)."""
    from livestyle.bench import NullSink
    from livestyle.config import ModelConfig, RunConfig, SourceConfig
    from livestyle.pipeline import build_pipeline

    cfg = RunConfig(source=SourceConfig("synth:640x480"), model=ModelConfig(model="starry_night-lite", device="cpu"),
                    max_frames=2)
    pipe = build_pipeline(cfg, sinks=[NullSink()])
    try:
        net = pipe.stylizers[0]
        w, h = net.processing_size(640, 480)
        assert list(net.session._compiled) == [(1, 3, h, w)]  # compiled at load, for the frames to come
    finally:
        pipe.close()
