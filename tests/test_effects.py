"""effects.mix and effects.preserve_colors: the math at the ends and the colour/luminance split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livestyle.effects import mix, preserve_colors
from livestyle.errors import ConfigError


def _smooth_image(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Natural-ish colours (smooth, mid-range) so YCrCb round trips do not clip."""
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 196, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_mix_ends_and_middle():
    a, b = _smooth_image(0), _smooth_image(1)
    np.testing.assert_array_equal(mix(a, b, 0.0), a)
    np.testing.assert_array_equal(mix(a, b, 1.0), b)
    half = mix(a, b, 0.5).astype(int)
    assert np.abs(half - (a.astype(int) + b) / 2).max() <= 1
    quarter = mix(a, b, 0.25).astype(int)
    assert np.abs(quarter - (0.75 * a + 0.25 * b)).max() <= 1


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_mix_rejects_bad_strength(strength):
    a = _smooth_image(0)
    with pytest.raises(ConfigError):
        mix(a, a, strength)


def test_mix_rejects_mismatched_images():
    with pytest.raises(ValueError):
        mix(_smooth_image(0), _smooth_image(0, 10, 10), 0.5)


def test_preserve_colors_keeps_chroma_of_original_and_luma_of_stylized():
    original, stylized = _smooth_image(2), _smooth_image(3)
    out = preserve_colors(original, stylized)
    assert out.shape == original.shape and out.dtype == np.uint8
    yo, ys, yout = (cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb).astype(int) for x in (original, stylized, out))
    assert np.abs(yout[..., 0] - ys[..., 0]).mean() < 1.5
    assert np.abs(yout[..., 1:] - yo[..., 1:]).mean() < 1.5
    # and it is not just one of the inputs
    assert np.abs(out.astype(int) - original).mean() > 5 and np.abs(out.astype(int) - stylized).mean() > 5


def test_preserve_colors_of_grey_original_is_grey():
    grey = np.full((16, 16, 3), 128, np.uint8)
    out = preserve_colors(grey, _smooth_image(4, 16, 16)).astype(int)
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 2 and np.abs(out[..., 1] - out[..., 2]).max() <= 2
