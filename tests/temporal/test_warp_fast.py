"""The blender's warp from a small flow field: the same picture as the full-size map it replaces, and cheaper."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livestyle.temporal.flow import upscale_flow
from livestyle.temporal.warp import grid, warp_by_flow


def _scene(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    img = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    flow = cv2.resize(rng.normal(0, 1.5, (6, 8, 2)).astype(np.float32), (w // 2, h // 2))  # smooth, half size
    return img, flow


def _reference(img: np.ndarray, flow: np.ndarray, interp: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.remap(img, grid(h, w) + upscale_flow(flow, (w, h)), None, interp, borderMode=cv2.BORDER_REPLICATE)


def test_cubic_matches_the_full_size_map_exactly() -> None:
    img, flow = _scene()
    assert np.array_equal(warp_by_flow(img, flow, "cubic"), _reference(img, flow, cv2.INTER_CUBIC))


def test_linear_uses_fixed_point_maps_within_a_grey_level() -> None:
    img, flow = _scene()
    diff = np.abs(warp_by_flow(img, flow, "linear").astype(int) - _reference(img, flow, cv2.INTER_LINEAR))
    assert diff.mean() < 0.5 and diff.max() <= 8  # 1/32-pixel map steps on a smooth texture


@pytest.mark.parametrize("dx", [-3.0, 2.0])
def test_constant_shift_moves_the_picture(dx: float) -> None:
    img, flow = _scene()
    flow[...] = 0.0
    flow[..., 0] = dx / 2  # half-size pixels: dx full-size pixels
    out = warp_by_flow(img, flow, "cubic")
    shifted = np.roll(img, -int(dx), axis=1)
    inner = (slice(4, -4), slice(8, -8))
    assert np.abs(out[inner].astype(int) - shifted[inner]).max() <= 1


def test_same_size_flow_is_a_plain_backward_warp() -> None:
    img, flow = _scene()
    full = upscale_flow(flow, (img.shape[1], img.shape[0]))
    assert np.array_equal(warp_by_flow(img, full, "linear"),
                          cv2.remap(img, grid(*img.shape[:2]) + full, None, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE))
