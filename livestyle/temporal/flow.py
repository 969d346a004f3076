"""Optical flow between consecutive input frames: OpenCV DIS on small grey frames (Kroeger et al. 2016).

DIS "ultrafast" on a ~192-pixel-wide frame costs about a millisecond and is accurate enough to carry the
previous *output* along with the scene; the flow is computed small and scaled up with its vectors.
"""

from __future__ import annotations

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def small_gray(rgb: np.ndarray, width: int) -> np.ndarray:
    """Grey uint8 copy of ``rgb`` at ``width`` pixels wide (aspect kept; never upscaled)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    h, w = gray.shape[:2]
    if width <= 0 or width >= w:
        return np.ascontiguousarray(gray)
    height = max(8, int(round(h * width / w)))
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


class DISFlow:
    """A reusable DIS flow estimator (one per blender: the OpenCV object is not shared across threads)."""

    def __init__(self, preset: str = "ultrafast") -> None:
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}: use one of {', '.join(PRESETS)}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Flow ``f`` (HxWx2 float32, x then y) with ``src[y, x] ~ dst[y + f_y, x + f_x]``."""
        return self._dis.calc(src, dst, None)


def upscale_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a flow field to ``size`` (w, h), scaling the vectors with the pixels."""
    h, w = flow.shape[:2]
    W, H = size
    if (w, h) == (W, H):
        return flow
    up = cv2.resize(flow, (W, H), interpolation=cv2.INTER_LINEAR)
    up[..., 0] *= W / w
    up[..., 1] *= H / h
    return up
