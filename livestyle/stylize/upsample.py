"""Bring the network's low-resolution output back to capture size, keeping the frame's edges crisp.

Running the network at 320x240 and showing 640x480 costs a quarter of the compute; plain bilinear
upsampling then looks soft. The fast guided filter (He & Sun 2015, "Fast Guided Filter"; also
Wu et al. 2018) fits, per low-res window, a linear model ``output ~ a * guide + b`` against the
*downscaled* frame, upsamples the smooth coefficients ``a, b`` and applies them to the *full-res* frame, so
edges come from the camera image while colours and strokes come from the network.

The default ("guided") is a cheaper variant of the same local linear model that also keeps the network's
own strokes: bilinear-upsample the network output, then add the guide's lost high band
``I_full - up(I_low)`` scaled per channel by the upsampled slope ``a``. The classic filter ("fgf") replaces
flat areas by the box-filtered network output, which blurs the strokes, and costs about twice as much
(figures in docs/TEMPORAL.md).
"""

from __future__ import annotations

import cv2
import numpy as np

METHODS = ("guided", "fgf", "bilinear", "bicubic")


def upsample(stylized: np.ndarray, size: tuple[int, int], guide: np.ndarray | None = None,
             method: str = "guided", radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Resize ``stylized`` (RGB uint8) to ``size`` (w, h); ``guide`` is the full-res RGB frame for "guided"."""
    w, h = size
    sh, sw = stylized.shape[:2]
    if (sw, sh) == (w, h):
        return stylized
    if method in ("guided", "fgf") and guide is not None and guide.shape[:2] == (h, w) and sw < w and sh < h:
        if method == "fgf":
            return guided_upsample(stylized, guide, radius=radius, eps=eps)
        return detail_upsample(stylized, guide, radius=radius, eps=eps)
    interp = cv2.INTER_CUBIC if method == "bicubic" else cv2.INTER_LINEAR
    if sw * sh > w * h:
        interp = cv2.INTER_AREA
    return cv2.resize(stylized, (w, h), interpolation=interp)


def guided_upsample(low: np.ndarray, guide: np.ndarray, radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Fast guided filter upsampling of ``low`` (h x w x 3 uint8) to the size of ``guide`` (H x W x 3 uint8).

    Grey guide, one linear model per output channel; ``radius`` is in low-res pixels and ``eps`` (on a 0..1
    scale) sets how strongly edges are transferred: smaller is sharper.
    """
    H, W = guide.shape[:2]
    h, w = low.shape[:2]
    g_full = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
    g = cv2.resize(g_full, (w, h), interpolation=cv2.INTER_AREA)
    p = low.astype(np.float32) * (1.0 / 255.0)
    k = (2 * radius + 1, 2 * radius + 1)
    mean_g = cv2.boxFilter(g, -1, k)
    var_g = cv2.boxFilter(g * g, -1, k) - mean_g * mean_g
    mean_p = cv2.boxFilter(p, -1, k)
    corr_gp = cv2.boxFilter(p * g[..., None], -1, k)
    cov_gp = corr_gp - mean_p * mean_g[..., None]
    a = cov_gp / (var_g[..., None] + eps)
    b = mean_p - a * mean_g[..., None]
    ab = np.concatenate([cv2.boxFilter(a, -1, k), cv2.boxFilter(b, -1, k)], axis=2)  # 6 channels, one resize
    ab = cv2.resize(ab, (W, H), interpolation=cv2.INTER_LINEAR)
    out = ab[..., :3] * g_full[..., None] + ab[..., 3:]
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _slope(low: np.ndarray, g: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Per-channel slope ``a`` of the local linear model low ~ a * g + b (both 0..255 float), box-smoothed."""
    k = (2 * radius + 1, 2 * radius + 1)
    p = low.astype(np.float32)
    g3 = cv2.merge([g, g, g])
    mean_g = cv2.boxFilter(g, -1, k)
    var_g = cv2.boxFilter(g * g, -1, k) - mean_g * mean_g + np.float32(eps * 255.0 * 255.0)
    cov = cv2.boxFilter(p * g3, -1, k) - cv2.boxFilter(p, -1, k) * cv2.merge([mean_g, mean_g, mean_g])
    return cv2.boxFilter(cov / cv2.merge([var_g, var_g, var_g]), -1, k)


def detail_upsample(low: np.ndarray, guide: np.ndarray, radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Bilinear upsampling of ``low`` plus the guide's high band the low-res run never saw, scaled by slope ``a``."""
    H, W = guide.shape[:2]
    h, w = low.shape[:2]
    g_full = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY)
    g_low = cv2.resize(g_full, (w, h), interpolation=cv2.INTER_AREA)
    a = cv2.resize(_slope(low, g_low.astype(np.float32), radius, eps), (W, H), interpolation=cv2.INTER_LINEAR)
    band = cv2.subtract(g_full, cv2.resize(g_low, (W, H), interpolation=cv2.INTER_LINEAR), dtype=cv2.CV_32F)
    cv2.multiply(a, cv2.cvtColor(band, cv2.COLOR_GRAY2RGB), dst=a)  # in place: one full-size float RGB array less
    return cv2.add(cv2.resize(low, (W, H), interpolation=cv2.INTER_LINEAR), a, dtype=cv2.CV_8U)
