"""Forward-backward consistency on synthetic flows, warping, the temporal loss, and the video Gatys CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tools import flow_check
from tools.gatys import GatysConfig
from tools.gatys_video import VideoConfig, main, read_frames, stylize_frames, warping_error
from tools.images import save_rgb, to_tensor
from tools.losses import temporal_loss


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2

    img = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)


def _const_flow(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    f = np.zeros((h, w, 2), np.float32)
    f[..., 0], f[..., 1] = dx, dy
    return f


def test_pure_translation_is_consistent() -> None:
    fwd = _const_flow(20, 30, 3.0, -2.0)
    bwd = _const_flow(20, 30, -3.0, 2.0)
    assert not flow_check.occlusion_mask(fwd, bwd).any()
    assert not flow_check.motion_boundary_mask(fwd).any()
    c = flow_check.certainty(fwd, bwd)
    # Only pixels whose target leaves the frame are uncertain: the 3 right columns... and the top 2 rows.
    assert c[2:, :-3].all() and not c[:2].any() and not c[:, -3:].any()


def test_inconsistent_backward_is_flagged() -> None:
    fwd = _const_flow(16, 16, 3.0, 0.0)
    assert flow_check.occlusion_mask(fwd, fwd.copy()).all()  # backward does not cancel
    # A small mismatch stays within the tolerance 0.01(|w|^2 + |w^|^2) + 0.5.
    assert not flow_check.occlusion_mask(fwd, _const_flow(16, 16, -2.6, 0.0)).any()
    # Half the backward field wrong: exactly those (mapped) pixels are flagged.
    bwd = _const_flow(16, 16, -3.0, 0.0)
    bwd[8:] = 4.0
    occ = flow_check.occlusion_mask(fwd, bwd)
    assert occ[9:].all() and not occ[:7].any()


def test_motion_boundary_at_a_step() -> None:
    flow = np.zeros((12, 20, 2), np.float32)
    flow[:, 10:, 0] = 5.0
    mb = flow_check.motion_boundary_mask(flow)
    assert mb[:, 9:11].all()
    assert not mb[:, :8].any() and not mb[:, 12:].any()


def test_long_term_masks() -> None:
    a = np.array([[1, 0, 0, 1]], np.float32)
    b = np.array([[1, 1, 0, 0]], np.float32)
    c = np.array([[1, 1, 1, 0]], np.float32)
    la, lb, lc = flow_check.long_term_masks([a, b, c])
    assert la.tolist() == a.tolist()
    assert lb.tolist() == [[0, 1, 0, 0]]
    assert lc.tolist() == [[0, 0, 1, 0]]


def test_estimated_flow_recovers_a_shift_and_warp_matches() -> None:
    big = _texture(80, 100)
    a, b = big[10:58, 10:74], big[10:58, 14:78]  # b is a shifted 4 px left: a(x) = b(x - 4)
    for method in flow_check.FLOW_METHODS:
        f_ab = flow_check.estimate_flow(a, b, method)
        assert np.median(f_ab[..., 0]) == pytest.approx(-4.0, abs=0.3)
        assert np.median(f_ab[..., 1]) == pytest.approx(0.0, abs=0.3)
    f_ab = flow_check.estimate_flow(a, b)
    f_ba = flow_check.estimate_flow(b, a)
    warped = flow_check.warp(b, f_ab)
    c = flow_check.certainty(f_ab, f_ba).astype(bool)
    assert c.mean() > 0.7
    err = np.abs(warped.astype(float) - a.astype(float))[c].mean()
    assert err < 3.0


def test_temporal_loss_zero_for_a_pair_matching_its_warp() -> None:
    big = _texture(40, 60, 3)
    prev_out = big[:, 5:45]
    cur_out = big[:, 3:43]  # cur(x) = prev(x - 2)
    flow = _const_flow(40, 40, -2.0, 0.0)
    back = _const_flow(40, 40, 2.0, 0.0)
    warped = flow_check.warp(prev_out, flow)
    mask = torch.from_numpy(flow_check.certainty(flow, back))
    loss = temporal_loss(to_tensor(cur_out), to_tensor(warped), mask)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert temporal_loss(to_tensor(cur_out), to_tensor(prev_out), mask).item() > 10.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("clip")
    big = _texture(40, 60, 1)
    for t in range(3):
        save_rgb(big[4:36, 2 * t:2 * t + 40], d / f"f{t:02d}.jpg")
    return d


def test_stylize_frames_single_and_multi_pass(clip: Path) -> None:
    torch.set_num_threads(1)
    _, frames, _ = read_frames(clip, None)
    style = to_tensor(_texture(32, 32, 7))
    cfg = GatysConfig(size=None, iters=2)
    out = stylize_frames(frames, [style], cfg, VideoConfig(first_iters=2), progress=False)
    assert len(out) == 3 and out[0].shape == frames[0].shape and out[0].dtype == np.uint8
    multi = stylize_frames(frames, [style], cfg, VideoConfig(passes=2, offsets=(1, 2)), progress=False)
    assert len(multi) == 3
    assert warping_error(frames, out) >= 0.0


def test_cli_folder_and_video(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    style = save_rgb(_texture(32, 32, 7), tmp_path / "style.png")
    out_dir = tmp_path / "out"
    args = ["--style", str(style), "--size", "40", "--iters", "1", "--first-iters", "1", "--quiet", "--threads", "1"]
    assert main(["--input", str(clip), "--output", str(out_dir), *args]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["f00.png", "f01.png", "f02.png"]
    video = tmp_path / "out.mp4"
    assert main(["--input", str(clip), "--output", str(video), *args]) == 0
    names, frames, fps = read_frames(video)
    assert len(frames) == 3 and frames[0].shape == (32, 40, 3)
    assert main(["--input", str(tmp_path / "nope"), "--output", str(out_dir), *args]) == 2
    assert main(["--input", str(clip), "--output", str(tmp_path / "x.txt"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 2
