"""compose modes, feathering, and the temporal stabiliser against a noisy synthetic mask sequence."""

from __future__ import annotations

import numpy as np
import pytest

from livestyle.errors import ConfigError
from livestyle.segment import MaskStabiliser, compose, edge_flicker
from livestyle.segment.stabilise import fast_guided_upsample, resize_flow


def _pair(h=60, w=80):
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    stylized = 255 - original
    mask = np.zeros((h, w), np.float32)
    mask[15:45, 25:55] = 1.0
    return original, stylized, mask


def test_background_mode_keeps_person_and_stylizes_rest():
    original, stylized, mask = _pair()
    out = compose(original, stylized, mask, "background")
    assert out.shape == original.shape and out.dtype == np.uint8
    inner = (slice(22, 38), slice(32, 48))   # well inside the feather
    assert np.abs(out[inner].astype(int) - original[inner]).max() <= 1
    assert np.abs(out[:8].astype(int) - stylized[:8]).max() <= 1


def test_person_mode_is_the_inverse():
    original, stylized, mask = _pair()
    out = compose(original, stylized, mask, "person")
    inner = (slice(22, 38), slice(32, 48))
    assert np.abs(out[inner].astype(int) - stylized[inner]).max() <= 1
    assert np.abs(out[:8].astype(int) - original[:8]).max() <= 1


def test_edge_is_feathered():
    original = np.zeros((40, 40, 3), np.uint8)
    stylized = np.full((40, 40, 3), 200, np.uint8)
    mask = np.zeros((40, 40), np.float32)
    mask[:, 20:] = 1.0
    row = compose(original, stylized, mask, "person", feather_px=4)[20, :, 0].astype(int)
    assert row[10] == 0 and row[30] == 200
    assert len({int(v) for v in row[15:25]}) >= 4      # a ramp, not a step
    sharp = compose(original, stylized, mask, "person", feather_px=0)[20, :, 0]
    assert set(np.unique(sharp)) == {0, 200}


def test_none_and_bad_mode():
    original, stylized, mask = _pair()
    assert compose(original, stylized, None, "none") is stylized
    with pytest.raises(ConfigError):
        compose(original, stylized, mask, "sky")
    with pytest.raises(ValueError):
        compose(original, stylized, mask[:10], "background")


def _noisy_sequence(n=40, h=48, w=64, seed=0):
    """A still square whose soft border probabilities jitter around 0.5 (the shimmer a network produces)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    dist = np.minimum.reduce([xx - 16, 48 - xx, yy - 12, 36 - yy]).astype(np.float32)
    clean = 1.0 / (1.0 + np.exp(-dist))
    return [np.clip(clean + rng.normal(0, 0.08, clean.shape).astype(np.float32), 0, 1) for _ in range(n)]


def test_stabiliser_reduces_flicker():
    seq = _noisy_sequence()
    stab = MaskStabiliser()
    out = [stab(m) for m in seq]
    raw, smooth = edge_flicker(seq, 2), edge_flicker(out, 2)
    assert smooth < 0.5 * raw, (raw, smooth)
    assert all(o.dtype == np.float32 and o.min() >= 0 and o.max() <= 1 for o in out)


def test_stabiliser_follows_real_motion_quickly():
    stab = MaskStabiliser()
    a = np.zeros((20, 20), np.float32)
    a[:, :10] = 1.0
    b = a[:, ::-1].copy()                 # the person jumps to the other side
    for _ in range(5):
        stab(a)
    assert stab(b)[:, 15].mean() > 0.9   # a full change passes in one frame (no ghost)
    stab.reset()
    assert np.allclose(stab(b), b)


def test_stabiliser_warps_along_flow():
    stab = MaskStabiliser(smoothing=0.9, motion_gain=0.0)   # trust the past almost fully
    a = np.zeros((20, 40), np.float32)
    a[:, 10:20] = 1.0
    moved = np.roll(a, 5, axis=1)
    stab(a)
    flow = np.zeros((20, 40, 2), np.float32)
    flow[..., 0] = -5.0                   # current pixel x came from x - 5
    with_flow = stab(moved, flow)
    stab.reset()
    stab(a)
    without = stab(moved)
    assert np.abs(with_flow - moved).mean() < 0.5 * np.abs(without - moved).mean()


def test_resize_flow_scales_vectors():
    f = np.ones((10, 20, 2), np.float32)
    r = resize_flow(f, (40, 5))
    assert r.shape == (5, 40, 2)
    np.testing.assert_allclose(r[..., 0], 2.0)
    np.testing.assert_allclose(r[..., 1], 0.5)


def test_guided_upsample_follows_guide_edge():
    guide_full = np.zeros((64, 64), np.float32)
    guide_full[:, 37:] = 1.0               # the true edge is at x = 37
    guide_small = guide_full.reshape(16, 4, 16, 4).mean(axis=(1, 3))   # area shrink, as the segmenter does
    mask_small = np.zeros((16, 16), np.float32)
    mask_small[:, 8:] = 1.0                # the coarse mask puts it at x = 32
    q = fast_guided_upsample(mask_small, guide_small, guide_full, radius=2, eps=1e-3)
    assert q.shape == (64, 64)
    steps = np.diff(q[32])
    assert int(np.argmax(steps)) == 36 and steps[36] > 0.3   # the sharpest step is exactly at the guide's edge
