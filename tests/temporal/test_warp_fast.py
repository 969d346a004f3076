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


@pytest.mark.parametrize("size", [(160, 120), (640, 480), (1280, 720), (642, 362)])
def test_a_mostly_still_frame_warps_only_its_moving_part_with_the_same_picture(size) -> None:
    """A person moving in front of a still room: zero flow elsewhere (what estimate_motion sets). Warping only the
    moving spans must give exactly the whole-frame warp, seams and borders included."""
    from livestyle.temporal.warp import moving_spans

    w, h = size
    img, flow = _scene(h, w)
    flow = cv2.resize(flow, (w // 2, h // 2))
    still = np.ones(flow.shape[:2], bool)
    still[h // 8: h // 4, w // 6: w // 3] = False  # a moving patch
    still[-3:, -5:] = False  # and one at the bottom-right border
    flow[still] = 0.0
    spans = moving_spans(flow, (w, h))
    assert spans is not None and sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in spans) < 0.3 * w * h
    assert np.array_equal(warp_by_flow(img, flow, "cubic"), _reference(img, flow, cv2.INTER_CUBIC))


def test_a_frame_that_moves_everywhere_is_warped_whole() -> None:
    from livestyle.temporal.warp import moving_spans

    img, flow = _scene()
    assert moving_spans(flow, (img.shape[1], img.shape[0])) is None
