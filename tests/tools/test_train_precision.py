"""Issue 11: bf16 on CPUs with native bf16, the saturation penalty, training through the fast path, --init."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from livestyle.errors import ConfigError
from tools import precision
from tools.nets import TransformerNet
from tools.runtime_path import low_size, runtime_forward
from tools.train import TrainConfig, build_parser, config_from_args, read_checkpoint_meta, saturation_penalty, train
from tests.tools.test_train import tiny_data  # noqa: F401  (fixture)

CPU = torch.device("cpu")


def test_precision_choices_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert precision.choose_precision(CPU, "off").name == "fp32"
    assert precision.choose_precision(CPU, "bf16", "on").name == "bf16+channels_last"
    assert precision.choose_precision(CPU, "bf16", "off").name == "bf16"
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: True)
    assert precision.choose_precision(CPU, "bf16").name == "bf16+channels_last"
    assert precision.choose_precision(CPU, "off").name == "fp32"
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: False)
    assert precision.choose_precision(CPU, "bf16").name == "bf16"
    with pytest.raises(ConfigError):
        precision.choose_precision(CPU, "fp16")
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: False)
    assert precision.choose_precision(CPU, "auto").name == "fp32"
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: True)
    assert precision.choose_precision(CPU, "auto").dtype is torch.bfloat16


def test_cpu_bf16_detection_follows_the_flags_and_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    precision.cpu_bf16_native.cache_clear()
    monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx512f"})
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    try:
        assert precision.cpu_bf16_native() is False
        precision.cpu_bf16_native.cache_clear()
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx512f", "avx512_bf16", "amx_bf16"})
        monkeypatch.setattr(precision, "_probe_bf16_faster", lambda: False)
        assert precision.cpu_bf16_native() is supported  # AMX: bf16 without a probe
        # AVX512-BF16 alone: the probe decides (slower than fp32 on a Xeon whose AMX the hypervisor hides).
        monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
        for probe in (False, True):
            precision.cpu_bf16_native.cache_clear()
            monkeypatch.setattr(precision, "_probe_bf16_faster", lambda probe=probe: probe)
            assert precision.cpu_bf16_native() is (probe and supported)
        precision.cpu_bf16_native.cache_clear()
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
        assert precision.cpu_bf16_native() is False
    finally:
        precision.cpu_bf16_native.cache_clear()


def test_saturation_penalty_is_zero_inside_the_limit_and_pulls_back_outside() -> None:
    z = torch.tensor([0.0, 3.9, -3.9])
    assert float(saturation_penalty(z, 4.0)) == 0.0
    z = torch.tensor([10.0, -10.0, 0.0], requires_grad=True)
    p = saturation_penalty(z, 4.0)
    assert float(p.detach()) == pytest.approx((36 + 36) / 3)
    p.backward()
    assert z.grad[0] > 0 and z.grad[1] < 0 and z.grad[2] == 0   # descent moves both back towards 0


def test_net_returns_logits_consistent_with_its_output() -> None:
    torch.manual_seed(0)
    net = TransformerNet("lite").eval()
    x = torch.rand(1, 3, 32, 32) * 255
    y, z = net(x, with_logits=True)
    assert torch.allclose(y, torch.sigmoid(z) * 255) and torch.equal(net(x), y)


def test_runtime_forward_runs_the_net_at_half_size_and_passes_gradients() -> None:
    torch.manual_seed(0)
    net = TransformerNet("lite")
    seen = []
    net.encoder.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[-2:])))
    x = torch.rand(2, 3, 64, 48) * 255
    y, z = runtime_forward(net, x, 0.5)
    assert seen == [(32, 24)] and y.shape == x.shape and z.shape[-2:] == (32, 24)
    assert float(y.min()) >= 0 and float(y.max()) <= 255
    y.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert low_size(160, 0.5) == 80 and low_size(100, 0.5) == 48


def test_cli_checks_train_scale(tmp_path: Path) -> None:
    style = tmp_path / "s.png"
    style.write_bytes(b"x")
    args = build_parser().parse_args(["--style", str(style), "--data", "d", "--out", "o", "--size", "36",
                                      "--train-scale", "0.5"])
    with pytest.raises(ConfigError):   # 18 is not a multiple of 4
        config_from_args(args)


def test_train_bf16_through_the_fast_path_from_a_shipped_model(tiny_data, tmp_path: Path,  # noqa: F811
                                                            half_size_lite: str) -> None:
    photos, style = tiny_data
    out = tmp_path / "run"
    meta = train(TrainConfig(style=str(style), data=(str(photos),), out=str(out), arch="lite", size=32, batch=2,
                             steps=2, content_layers=("relu1_1",), style_layers=("relu1_1", "relu2_1"),
                             sample_every=0, checkpoint_every=2, log_every=1, threads=1, amp="bf16", channels_last="on",
                             train_scale=0.5, init=half_size_lite))
    assert meta["precision"] == "bf16+channels_last" and meta["step"] == 2
    assert np.isfinite(meta["losses"]["total"]) and "saturation" in meta["losses"]
    assert read_checkpoint_meta(out / "last.safetensors")["config"]["train_scale"] == 0.5
    with pytest.raises(ConfigError):
        train(TrainConfig(style=str(style), data=(str(photos),), out=str(tmp_path / "r2"), arch="full", size=32,
                          batch=2, steps=1, sample_every=0, threads=1, init=half_size_lite))
