"""Flow, warp, occlusion, blender and metrics on synthetic scenes with known motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livestyle.errors import ConfigError
from livestyle.temporal import TemporalBlender, TemporalConfig
from livestyle.temporal.flow import DISFlow, small_gray, upscale_flow
from livestyle.temporal.metrics import detail, flicker, warping_error
from livestyle.temporal.occlusion import fb_consistency, photometric_confidence
from livestyle.temporal.warp import backward_warp

H, W = 120, 160


def texture(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """Smooth random colour texture (trackable by optical flow)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8)
    big = cv2.resize(small, (w + 16, h + 16), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[8:8 + h, 8:8 + w])


def const_flow(dx: float, dy: float, h: int = H, w: int = W) -> np.ndarray:
    f = np.empty((h, w, 2), np.float32)
    f[..., 0], f[..., 1] = dx, dy
    return f


def test_backward_warp_matches_integer_roll() -> None:
    img = texture()
    cur = np.roll(img, (2, 3), axis=(0, 1))  # content moved right by 3, down by 2
    out = backward_warp(img, const_flow(-3, -2))  # pull from where each pixel was
    assert np.array_equal(out[2:, 3:], cur[2:, 3:])


def test_backward_warp_matches_cv2_remap_for_fractional_flow() -> None:
    img = texture().astype(np.float32)
    flow = np.random.default_rng(3).uniform(-2, 2, (H, W, 2)).astype(np.float32)
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    ref = cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.allclose(backward_warp(img, flow), ref, atol=1e-3)


def test_upscale_flow_scales_vectors() -> None:
    up = upscale_flow(const_flow(1.5, -2.0, 30, 40), (160, 120))
    assert up.shape == (120, 160, 2)
    assert np.allclose(up[..., 0], 6.0) and np.allclose(up[..., 1], -8.0)  # 40->160 and 30->120: x4 each


def test_dis_recovers_a_known_translation() -> None:
    img = texture(seed=1)
    cur = np.roll(img, 4, axis=1)
    flow = DISFlow("fast")(small_gray(cur, W), small_gray(img, W))  # current -> previous
    inner = flow[20:-20, 20:-20]
    assert abs(float(np.median(inner[..., 0])) + 4) < 0.3 and abs(float(np.median(inner[..., 1]))) < 0.3


def test_fb_consistency_on_synthetic_flows() -> None:
    bw = const_flow(3, 1)
    assert fb_consistency(bw, const_flow(-3, -1)).min() == 1.0  # consistent everywhere
    assert fb_consistency(bw, const_flow(3, 1)).max() == 0.0    # contradicting: all occluded
    fw = const_flow(-3, -1)
    fw[:, 80:] = 5.0  # the forward flow disagrees on the right half only
    mask = fb_consistency(bw, fw)
    assert mask[:, :70].min() == 1.0 and mask[:, 90:].max() == 0.0


def test_photometric_confidence() -> None:
    a = texture()
    assert photometric_confidence(a, a).min() == 1.0
    assert photometric_confidence(a, 255 - a).mean() < 0.2


def _translating(n: int, dx: int = 2, noise: float = 12.0, seed: int = 0):
    """Frames of a texture moving right dx px/frame; a 'stylizer' that is content-locked plus per-frame noise."""
    rng = np.random.default_rng(seed)
    big = texture(H, W + n * dx + 8, seed=seed)
    frames = [np.ascontiguousarray(big[:, (n - t) * dx:(n - t) * dx + W]) for t in range(n)]
    stylized = []
    for f in frames:
        jitter = cv2.GaussianBlur(rng.normal(0, noise, (H, W)).astype(np.float32), (0, 0), 1.0)[..., None]
        stylized.append(np.clip(f.astype(np.float32) + jitter, 0, 255).astype(np.uint8))
    return frames, stylized


def test_blender_cuts_warping_error_on_a_translating_texture() -> None:
    frames, stylized = _translating(12)
    blender = TemporalBlender(TemporalConfig(strength=0.8))
    blended = [blender(f, s) for f, s in zip(frames, stylized)]
    flows = [const_flow(-2, 0)] * (len(frames) - 1)  # exact flow t+1 -> t
    masks = [(fl, np.pad(np.ones((H, W - 8), np.float32), ((0, 0), (8, 0)))) for fl in flows]  # skip entering edge
    per = warping_error(stylized[2:], masks[2:])
    ours = warping_error(blended[2:], masks[2:])
    assert ours < per / 3
    # blending averages away the per-frame noise only: the content-locked texture keeps its detail
    content = np.mean([detail(f) for f in frames[2:]])
    assert np.mean([detail(b) for b in blended[2:]]) >= 0.9 * content


def test_still_scene_flicker_bound() -> None:
    rng = np.random.default_rng(5)
    base = texture(seed=2).astype(np.float32)
    frames = [np.clip(base + rng.normal(0, 2.0, base.shape), 0, 255).astype(np.uint8) for _ in range(15)]
    # a noise-amplifying 'stylizer' (style networks amplify sensor noise into flicker)
    stylized = [np.clip(base + 3.0 * (f.astype(np.float32) - base), 0, 255).astype(np.uint8) for f in frames]
    blender = TemporalBlender()
    out = [blender(f, s) for f, s in zip(frames, stylized)]
    assert flicker(stylized[5:]) > 3.0
    assert flicker(out[5:]) <= 1.5


def test_scene_cut_resets_and_first_frame_passes_through() -> None:
    a, b = texture(seed=3), 255 - texture(seed=4)
    blender = TemporalBlender()
    assert blender.estimate_motion(a) is None  # first frame
    s1 = np.full_like(a, 100)
    assert blender.blend(s1, None) is s1
    assert blender.estimate_motion(a) is not None
    assert blender.estimate_motion(b) is None and blender.cuts == 1  # a different scene
    s2 = np.full_like(a, 200)
    assert np.array_equal(blender.blend(s2, None), s2)
    blender.reset()
    assert blender.estimate_motion(b) is None


def test_disabled_passes_through_and_config_validation() -> None:
    blender = TemporalBlender(TemporalConfig(enabled=False))
    a, s = texture(), texture(seed=9)
    for _ in range(3):
        assert blender(a, s) is s
    with pytest.raises(ConfigError):
        TemporalConfig(strength=1.5)
    with pytest.raises(ConfigError):
        TemporalConfig(interpolation="sinc")


def test_metrics_basics() -> None:
    img = texture()
    moved = np.roll(img, 3, axis=1)
    assert warping_error([img, moved], [(const_flow(-3, 0), np.pad(np.ones((H, W - 3), np.float32),
                                                                    ((0, 0), (3, 0))))]) < 1e-9
    assert warping_error([img, moved], [img, moved]) < 2e-3  # flows computed from the inputs
    assert flicker([img, img, img]) == 0.0
    assert detail(np.full((20, 20, 3), 7, np.uint8)) == 0.0 and detail(img) > 0


def test_the_consistency_flow_runs_on_a_coarser_level_and_still_finds_a_translation() -> None:
    img = texture(seed=1)
    cur = np.roll(img, 4, axis=1)
    coarse = DISFlow("fine", finest_scale=2)
    assert coarse._dis.getFinestScale() == 2 and DISFlow("fine")._dis.getFinestScale() == 1
    flow = coarse(small_gray(cur, W), small_gray(img, W))
    inner = flow[20:-20, 20:-20]
    assert abs(float(np.median(inner[..., 0])) + 4) < 0.3 and abs(float(np.median(inner[..., 1]))) < 0.3
    assert TemporalBlender(TemporalConfig(fb_scale=1))._flow_check._dis.getFinestScale() == 1
    with pytest.raises(ConfigError):
        TemporalConfig(fb_scale=5)
    with pytest.raises(ConfigError):
        TemporalConfig(fb_stride=0)
    assert TemporalBlender(TemporalConfig(fb_stride=7))._flow_check._dis.getPatchStride() == 7


def test_chroma_detail_sees_colour_that_grey_detail_does_not() -> None:
    from livestyle.temporal.metrics import chroma_detail

    img = cv2.add(texture(seed=4), np.random.default_rng(4).integers(0, 40, (H, W, 3), dtype=np.uint8))
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    assert chroma_detail(grey) < 0.5 < chroma_detail(img)
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 1:] = cv2.GaussianBlur(ycc[..., 1:], (7, 7), 2.0)  # colours blurred, grey kept
    soft = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    assert chroma_detail(soft) < 0.7 * chroma_detail(img) and abs(detail(soft) - detail(img)) < 0.1 * detail(img)


def test_luma_only_detail_restoration_gives_the_same_grey() -> None:
    from livestyle.temporal.blender import restore_detail

    ref = texture(seed=6)
    ref = cv2.add(ref, np.random.default_rng(6).integers(0, 40, ref.shape, dtype=np.uint8))  # fine strokes
    blurred = cv2.GaussianBlur(ref, (5, 5), 1.2)
    weight = np.ones((H // 2, W // 2), np.float32)
    rgb = restore_detail(blurred, ref, weight)
    luma = restore_detail(blurred, ref, weight, luma_only=True)
    g_rgb, g_luma = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(int) for x in (rgb, luma))
    assert detail(luma) > 1.2 * detail(blurred)  # it does restore
    assert np.abs(g_rgb - g_luma).mean() < 0.5 and np.abs(g_rgb - g_luma).max() <= 4
    grey = cv2.cvtColor(cv2.cvtColor(blurred, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    out = restore_detail(grey, ref, weight, luma_only=True)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])  # grey stays grey
