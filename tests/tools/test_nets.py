"""Shapes, ranges and sizes of the transformation networks; synthetic motion and its warp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tools import motion
from tools.nets import PRESETS, NetConfig, TransformerNet, build_net, count_params


@pytest.mark.parametrize("arch", ["full", "lite"])
@pytest.mark.parametrize("shape", [(1, 3, 36, 52), (2, 3, 20, 28), (1, 3, 8, 12)])
def test_shapes_at_multiples_of_four(arch: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    net = TransformerNet(arch).eval()
    x = torch.rand(*shape) * 255
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 255.0
    assert net.size_multiple == 4


@pytest.mark.parametrize("arch", ["lite_hd", "lite_hd_wide"])
@pytest.mark.parametrize("shape", [(1, 3, 48, 64), (2, 3, 24, 40), (1, 3, 16, 24)])
def test_full_resolution_presets_keep_the_size_at_multiples_of_eight(arch: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    net = TransformerNet(arch).eval()
    x = torch.rand(*shape) * 255
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 255.0
    assert net.size_multiple == 8
    # the residual blocks run at 1/8 of the frame: that is where their cost stays small
    with torch.no_grad():
        assert net.encoder(x / 255.0).shape[-2:] == (shape[2] // 8, shape[3] // 8)


def test_param_budgets() -> None:
    # fp32 bytes: full <= 7 MB and lite <= 1 MB (the ONNX files add only a few kB of graph).
    assert count_params(TransformerNet("full")) * 4 < 7_000_000
    assert count_params(TransformerNet("lite")) * 4 < 1_000_000
    assert count_params(TransformerNet("lite")) < count_params(TransformerNet("full")) / 10
    assert count_params(TransformerNet("lite_hd_wide")) < count_params(TransformerNet("full")) / 10


def test_config_roundtrip_rebuilds_same_architecture() -> None:
    for cfg in PRESETS.values():
        again = NetConfig.from_dict(cfg.to_dict())
        assert again == cfg
        a, b = build_net(cfg.to_dict()), build_net(cfg)
        assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        TransformerNet("huge")
    with pytest.raises(ValueError, match="stem_stride"):
        TransformerNet(NetConfig(stem_stride=3))


def test_zero_flow_warp_is_identity_and_valid() -> None:
    x = torch.rand(2, 3, 16, 20) * 255
    warped, valid = motion.warp(x, torch.zeros(2, 2, 16, 20))
    assert torch.allclose(warped, x, atol=1e-3)
    assert bool(valid.all())


def test_warp_matches_cv2_remap() -> None:
    g = torch.Generator().manual_seed(1)
    img = (torch.rand(1, 3, 24, 32, generator=g) * 255)
    flow = motion.random_flow(1, 24, 32, generator=g)
    warped, valid = motion.warp(img, flow)
    src = img[0].permute(1, 2, 0).numpy()
    ys, xs = np.mgrid[0:24, 0:32].astype(np.float32)
    f = flow[0].numpy()
    ref = cv2.remap(src, xs + f[0], ys + f[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = valid[0, 0].numpy() > 0
    assert inside.mean() > 0.5
    diff = np.abs(warped[0].permute(1, 2, 0).numpy() - ref)[inside]
    assert diff.max() < 0.5  # cv2 uses 5-bit fixed-point interpolation weights


def test_pair_is_consistent_with_its_flow() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 32, 32, generator=g) * 255
    cfg = motion.MotionConfig(noise_std=0.0)
    f1, f2, flow, mask = motion.make_pair(x, cfg, generator=g)
    warped, _ = motion.warp(f1, flow)
    # Temporal error of an identity "network" is zero where the mask is 1 (the pair matches its own warp).
    assert float((mask * (f2 - warped) ** 2).mean()) < 1e-6
    assert 0.3 < float(mask.mean()) <= 1.0
