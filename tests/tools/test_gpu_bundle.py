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
