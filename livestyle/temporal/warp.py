"""Backward warping with ``cv2.remap``: pull each pixel of the current frame from where the flow says it was."""

from __future__ import annotations

import cv2
import numpy as np

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}

_GRID_CACHE: dict[tuple[int, int], np.ndarray] = {}


def grid(h: int, w: int) -> np.ndarray:
    """Pixel coordinates (HxWx2 float32, x then y); cached per size because it is rebuilt every frame otherwise."""
    key = (h, w)
    g = _GRID_CACHE.get(key)
    if g is None:
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        g = np.dstack([xs, ys])
        if len(_GRID_CACHE) > 8:
            _GRID_CACHE.clear()
        _GRID_CACHE[key] = g
    return g


def backward_warp(image: np.ndarray, flow: np.ndarray, interpolation: str = "linear") -> np.ndarray:
    """``out[y, x] = image[y + flow[y, x, 1], x + flow[y, x, 0]]``; borders replicate (no black edges)."""
    h, w = flow.shape[:2]
    if image.shape[:2] != (h, w):
        raise ValueError(f"image {image.shape[:2]} and flow {flow.shape[:2]} sizes differ")
    coords = grid(h, w) + flow
    return cv2.remap(image, coords, None, INTERPOLATIONS[interpolation], borderMode=cv2.BORDER_REPLICATE)
