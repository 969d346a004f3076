"""Export: fp32 and fp16 ONNX match torch, dynamic sizes work, the card passes the runtime's parser."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from livestyle.stylize.card import load_card
from tools.export import export, parity_input, run_onnx
from tools.nets import TransformerNet
from tools.train import save_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, torch.nn.Module]:
    tmp = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    net = TransformerNet("lite").eval()
    style = tmp / "my_style.jpg"
    cv2.imwrite(str(style), (np.random.default_rng(0).random((24, 24, 3)) * 255).astype(np.uint8))
    ckpt = save_checkpoint(tmp / "last.safetensors", net, None,
                           {"step": 3, "net": net.config.to_dict(), "params": 1, "losses": {"total": 1.0},
                            "config": {"style": str(style), "size": 32, "batch": 2}})
    card = export(ckpt, tmp / "models" / "mine-lite.onnx", credit="Somebody, A Painting (1900), public domain")
    return card, tmp / "models", net


def test_card_fields_and_files(exported: tuple[dict, Path, torch.nn.Module]) -> None:
    card, models, _ = exported
    assert card["name"] == "mine-lite" and card["style"] == "mine" and card["variant"] == "lite"
    assert card["files"] == {"fp32": "mine-lite.onnx", "fp16": "mine-lite.fp16.onnx"}
    assert card["input"]["name"] == "input" and card["output"]["range"] == [0, 255]
    assert card["size_multiple"] == 4 and card["recommended_size"] == [320, 240]
    assert card["style_image"] == "styles/my_style.jpg" and (models / "styles" / "my_style.jpg").is_file()
    assert card["metrics"] == {} and card["training"]["steps"] == 3
    for key, name in card["files"].items():
        assert card["sha256"][key] == hashlib.sha256((models / name).read_bytes()).hexdigest()
    on_disk = json.loads((models / "mine-lite.json").read_text())
    assert on_disk == card
    parsed = load_card(models / "mine-lite.json")   # the runtime's own validator
    assert parsed.name == "mine-lite" and parsed.has("fp16")


def test_fp32_and_fp16_parity(exported: tuple[dict, Path, torch.nn.Module]) -> None:
    card, _, _ = exported
    figures = card["training"]["export_parity_max_abs"]
    assert figures["fp32"]["max_abs"] < 1e-2
    assert figures["fp16"]["max_abs"] < 6.0 and figures["fp16"]["mean_abs"] < 1.0


def test_dynamic_sizes_and_fp16_io_types(exported: tuple[dict, Path, torch.nn.Module]) -> None:
    _, models, net = exported
    x = parity_input(None, h=28, w=44)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert np.abs(run_onnx(models / "mine-lite.onnx", x) - ref).max() < 1e-2
    half = onnx.load(str(models / "mine-lite.fp16.onnx"))
    f32 = onnx.TensorProto.FLOAT
    assert half.graph.input[0].type.tensor_type.elem_type == f32
    assert half.graph.output[0].type.tensor_type.elem_type == f32
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in half.graph.initializer)
    # Every InstanceNormalization runs in float32: data, scale and bias all arrive as float32.
    dtype: dict[str, int] = {i.name: i.data_type for i in half.graph.initializer}
    for n in half.graph.node:
        if n.op_type == "Cast":
            dtype[n.output[0]] = next(a.i for a in n.attribute if a.name == "to")
        elif n.op_type == "Constant":
            dtype[n.output[0]] = n.attribute[0].t.data_type
    norms = [n for n in half.graph.node if n.op_type == "InstanceNormalization"]
    assert len(norms) == 9
    assert all(dtype.get(name) == f32 for n in norms for name in n.input)
