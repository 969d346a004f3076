"""Shared fixtures. Hardware tests (gpu, camera, virtualcam) and slow ones are opt-in via markers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Keep every test on few threads: CI has 2 cores and tests run one after another.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def half_size_lite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A half-size ``lite`` model (the fast path, guided upsampling) to start a training from: a bundled one while
    any still is that net (found by its card, so no name is fixed here), else an untrained one exported into a
    temporary folder (its card's path), so the tests of that path keep running once every bundled lite model is
    the full-resolution ``lite_hd_wide`` net."""
    from livestyle.stylize.registry import list_models

    names = sorted(c.name for c in list_models() if c.architecture.get("arch") == "lite")
    if names:
        return names[0]
    torch = pytest.importorskip("torch")
    from tools.export import export
    from tools.nets import TransformerNet
    from tools.train import save_checkpoint

    tmp = tmp_path_factory.mktemp("half_size_lite")
    torch.manual_seed(0)
    net = TransformerNet("lite").eval()
    with torch.no_grad():  # untrained norms are all 1s and 0s, which the ONNX exporter would merge into one
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    ckpt = save_checkpoint(tmp / "last.safetensors", net, None,
                           {"step": 3, "net": net.config.to_dict(), "losses": {"total": 1.0},
                            "params": sum(p.numel() for p in net.parameters()),
                            "config": {"style": str(FIXTURES / "person_intel.jpg"), "size": 32, "batch": 2,
                                       "train_scale": 0.5}})
    export(ckpt, tmp / "models" / "untrained-lite.onnx", credit="test fixture", fp16=False)
    return str(tmp / "models" / "untrained-lite.json")
