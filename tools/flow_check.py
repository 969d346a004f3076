"""Optical flow, backward warping and the forward-backward consistency check of Ruder et al. (2016).

Plain numpy/OpenCV functions on HxWx2 float32 flows. Convention (OpenCV's): ``flow_ab = estimate_flow(a, b)``
holds, for every pixel x of image ``a``, the displacement to where that point is in ``b``: a(x) ~ b(x + flow_ab(x)).
So ``warp(b, flow_ab)`` brings ``b`` into ``a``'s pixel grid.

Certainty of ``flow_ab`` at pixel x (Ruder et al., section 3.2, with w = flow_ab(x) and w^ = flow_ba(x + w)):

- disoccluded / inconsistent:  |w + w^|^2 >= 0.01 (|w|^2 + |w^|^2) + 0.5
- motion boundary:             |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002
- also unreliable: x + w falls outside the image.

The certainty mask is 0 there and 1 elsewhere; the temporal loss weights each pixel by it.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOW_METHODS = ("dis", "farneback")


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img if img.dtype == np.uint8 else np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def estimate_flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense flow from RGB (or grey) uint8 image ``a`` to ``b``: HxWx2 float32 (dx, dy) per pixel of ``a``.

    ``dis``: OpenCV's DIS at the MEDIUM preset (fast, good on large motion); ``farneback``: the classic polynomial
    expansion method (slower, smoother).
    """
    ga, gb = _gray(a), _gray(b)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(ga, gb, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 4, 15, 3, 5, 1.1, 0)
    else:
        raise ValueError(f"flow method must be one of {FLOW_METHODS}, got {method!r}")
    return flow.astype(np.float32)


def _sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out(x) = image(x + flow(x)), bilinear, edges replicated. Works for any dtype/channels."""
    mx, my = _sample_grid(flow)
    return cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """True where x + flow(x) lands inside the image."""
    h, w = flow.shape[:2]
    mx, my = _sample_grid(flow)
    return (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)


def occlusion_mask(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """True where the forward-backward check fails: |w + w^|^2 >= 0.01(|w|^2 + |w^|^2) + 0.5."""
    back = warp(flow_ba.astype(np.float32), flow_ab)
    s = flow_ab + back
    lhs = (s**2).sum(-1)
    rhs = 0.01 * ((flow_ab**2).sum(-1) + (back**2).sum(-1)) + 0.5
    return lhs >= rhs


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """True on motion boundaries: |grad u|^2 + |grad v|^2 > 0.01|w|^2 + 0.002 (central differences)."""
    du_dy, du_dx = np.gradient(flow[..., 0])
    dv_dy, dv_dx = np.gradient(flow[..., 1])
    grad = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2
    return grad > 0.01 * (flow**2).sum(-1) + 0.002


def certainty(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """float32 HxW mask over ``a``'s pixels: 1 where ``warp(b_stylized, flow_ab)`` can be trusted, else 0."""
    bad = occlusion_mask(flow_ab, flow_ba) | motion_boundary_mask(flow_ab) | ~inside_mask(flow_ab)
    return (~bad).astype(np.float32)


def long_term_masks(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Ruder et al.'s long-term weights: c_j <- max(c_j - sum of the masks of all shorter offsets, 0).

    ``masks`` are the certainties for offsets j in increasing order (e.g. J = 1, 2, 5); each pixel is then
    constrained by the closest previous frame that saw it, so the losses don't pile up where all agree.
    """
    out = []
    acc = np.zeros_like(masks[0]) if masks else None
    for m in masks:
        out.append(np.maximum(m - acc, 0.0).astype(np.float32))
        acc = acc + m
    return out
