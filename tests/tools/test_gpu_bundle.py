"""tools.gpu_bundle: what the GPU run packs comes back here as loadable checkpoints without the Adam state."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open

from tools import gpu_bundle
from tools.nets import TransformerNet
from tools.train import load_net, save_checkpoint


def test_pack_and_unpack_roundtrip(tmp_path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    net = TransformerNet("lite")
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.rand(1, 3, 16, 16) * 255).mean().backward()
    opt.step()
    (tmp_path / "runs" / "a-lite").mkdir(parents=True)
    save_checkpoint(tmp_path / "runs" / "a-lite" / "last.safetensors", net, opt, {"step": 3, "net": net.config.to_dict()})
    (tmp_path / "runs" / "a-lite" / "log.csv").write_text("step\n3\n")
    monkeypatch.setattr(gpu_bundle, "PART_BYTES", 50_000)   # force several parts
    parts = gpu_bundle.pack(tmp_path / "runs", tmp_path / "out", ["a-lite", "missing-full"])
    assert len(parts) > 1 and all(p.stat().st_size <= 50_000 for p in parts)
    names = gpu_bundle.unpack(tmp_path / "out", tmp_path / "back")
    assert names == ["a-lite"]
    ckpt = tmp_path / "back" / "a-lite" / "last.safetensors"
    with safe_open(str(ckpt), framework="pt") as f:
        assert not any(k.startswith("opt.") for k in f.keys())
    again, meta = load_net(ckpt)
    assert meta["step"] == 3 and (tmp_path / "back" / "a-lite" / "log.csv").is_file()
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_fp16_inits_start_the_same_net(tmp_path: Path) -> None:
    """The device cannot take the fp32 ONNX files (64 MiB limit): prepare writes fp16 weights that --init reads."""
    import pytest

    from livestyle.errors import ConfigError
    from livestyle.stylize.registry import default_model
    from livestyle.stylize.torch_backend import build_net
    from tools.nets import NetConfig
    from tools.train import init_weights

    card = default_model()
    paths = {p.stem: p for p in gpu_bundle.write_inits(tmp_path)}
    assert card.name in paths and "udnie-full" in paths and not any("fp16" in n for n in paths)
    net = TransformerNet(NetConfig.from_dict(card.architecture))
    steps = init_weights(net, str(paths[card.name]))
    assert steps == int(card.training.get("total_steps") or card.training.get("steps") or 0) and steps > 0
    donor = build_net(card).state_dict()
    for k, v in net.state_dict().items():
        assert v.dtype == torch.float32
        assert torch.allclose(v, donor[k], rtol=1e-3, atol=1e-4), k
    with pytest.raises(ConfigError, match="architecture"):
        init_weights(TransformerNet("full"), str(paths[card.name]))
