"""Where the warped previous output can be trusted: forward-backward consistency and photometric residual.

Occluded or disoccluded pixels, and places where the flow is wrong, must take the fresh stylized frame;
blending them with the warped past is what makes ghosts.
"""

from __future__ import annotations

import cv2
import numpy as np

from livestyle.temporal.warp import backward_warp


def fb_consistency(flow_bw: np.ndarray, flow_fw: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """1 where the backward flow (current->previous) and forward flow (previous->current) agree, else 0.

    Sundaram et al. 2010 / Ruder et al. 2016: at pixel x, follow ``b = flow_bw(x)`` then the forward flow
    there, ``f = flow_fw(x + b)``; consistent when ``|b + f|^2 <= alpha (|b|^2 + |f|^2) + beta`` (pixels).
    """
    f = backward_warp(flow_fw, flow_bw, "linear")
    # OpenCV element-wise ops instead of numpy temporaries: 4x faster at 320x240, and this runs every frame.
    s = cv2.add(flow_bw, f)
    err = cv2.transform(cv2.multiply(s, s), _SUM2)
    bound = cv2.transform(cv2.add(cv2.multiply(flow_bw, flow_bw), cv2.multiply(f, f)), _SUM2 * np.float32(alpha))
    bound += np.float32(beta)
    return (err <= bound).astype(np.float32)


_SUM2 = np.ones((1, 2), np.float32)  # cv2.transform matrix: sum of the two flow components


def photometric_confidence(current: np.ndarray, warped_previous: np.ndarray, sigma: float = 12.0) -> np.ndarray:
    """exp(-(d / sigma)^2) of the grey-level residual d after warping: lighting changes and flow errors -> 0."""
    d = current.astype(np.float32) - warped_previous.astype(np.float32)
    if d.ndim == 3:
        d = np.abs(d).mean(axis=2)
    return np.exp(-(d * d) / np.float32(sigma * sigma)).astype(np.float32)
