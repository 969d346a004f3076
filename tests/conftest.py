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
    """A half-size ``lite`` model (the fast path, guided upsampling), untrained, exported into a temporary folder
    (its card's path): no bundled lite model is that net any more (all are ``lite_hd_wide``), but training and
    benchmarking through the fast path are still supported."""
    torch = pytest.importorskip("torch")
    from livestyle.stylize.torch_nets import TransformerNet, count_params
    from tools.export import export
    from tools.train import save_checkpoint

    tmp = tmp_path_factory.mktemp("half_size_lite")
    torch.manual_seed(0)
    net = TransformerNet("lite").eval()
    with torch.no_grad():  # untrained norms are all 1s and 0s, which the ONNX exporter would merge into one
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    ckpt = save_checkpoint(tmp / "last.safetensors", net, None,
                           {"step": 3, "net": net.config.to_dict(), "losses": {"total": 1.0},
                            "params": count_params(net),
                            "config": {"style": str(FIXTURES / "person_intel.jpg"), "size": 32, "batch": 2,
                                       "train_scale": 0.5}})
    export(ckpt, tmp / "models" / "untrained-lite.onnx", credit="test fixture", fp16=False)
    return str(tmp / "models" / "untrained-lite.json")
