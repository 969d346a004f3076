"""Keep a person mask steady over time and snap its edges to the image.

A per-frame segmentation network flips border pixels from frame to frame; composited over a stylized frame that
reads as shimmering edges. Three cheap steps, all at the model's small resolution except the last:

1. motion-adaptive exponential smoothing (optionally along a backward flow): small changes, which are mostly
   noise, are averaged away; large changes, which are real motion, pass almost at once, so the mask does not lag;
2. soft hysteresis: a pixel that was person needs stronger evidence to become background and vice versa, so
   probabilities hovering around 0.5 stop toggling;
3. a fast guided filter (He et al., 2010/2015) with the frame as guide, computed at low resolution and applied
   at full resolution, so the upsampled mask follows real image edges instead of a blurry 256x144 outline.
"""

from __future__ import annotations

import cv2
import numpy as np


def _grid(h: int, w: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.dstack([xs, ys])


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A backward flow (HxWx2, pixels) resampled to ``size`` = (w, h) with its vectors rescaled to match."""
    h, w = flow.shape[:2]
    tw, th = size
    if (w, h) == (tw, th):
        return flow.astype(np.float32, copy=False)
    out = cv2.resize(flow.astype(np.float32, copy=False), (tw, th), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= tw / w
    out[..., 1] *= th / h
    return out


class MaskStabiliser:
    """Temporal state of one mask stream at a fixed small resolution (the only state the segmenter keeps).

    ``smoothing`` is the weight of the past for unchanged pixels (0 = no smoothing); ``motion_gain`` says how fast
    the weight of the new value grows with the change (a change of 1/motion_gain is taken in full);
    ``hysteresis`` shifts the 0.5 threshold towards the pixel's previous side; ``softness`` is the width of the
    probability band mapped onto the soft 0..1 edge.
    """

    def __init__(self, smoothing: float = 0.7, motion_gain: float = 2.5, hysteresis: float = 0.1,
                 softness: float = 0.5) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be in [0, 1)")
        if softness <= 0.0:
            raise ValueError("softness must be > 0")
        self.smoothing = float(smoothing)
        self.motion_gain = float(motion_gain)
        self.hysteresis = float(hysteresis)
        self.softness = float(softness)
        self._state: np.ndarray | None = None   # smoothed probability
        self._out: np.ndarray | None = None     # last soft mask (hysteresis memory)
        self._grid: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the past (scene cut, new source)."""
        self._state = None
        self._out = None

    def _warp(self, img: np.ndarray, flow: np.ndarray) -> np.ndarray:
        h, w = img.shape
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = _grid(h, w)
        return cv2.remap(img, self._grid + resize_flow(flow, (w, h)), None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def __call__(self, prob: np.ndarray, flow: np.ndarray | None = None,
                 confidence: np.ndarray | None = None) -> np.ndarray:
        """Stabilised soft mask (float32, same size as ``prob``).

        ``flow``: backward flow current->previous (``out[y,x] = prev[y+fy, x+fx]``), any resolution, in pixels
        of that resolution. ``confidence``: 0..1 trust in the flow, any resolution; where low, the new
        prediction wins.
        """
        prob = prob.astype(np.float32, copy=False)
        state, out = self._state, self._out
        if state is None or state.shape != prob.shape:
            state, out = prob.copy(), None
        else:
            if flow is not None:
                state = self._warp(state, flow)
                out = self._warp(out, flow) if out is not None else None
            diff = cv2.absdiff(prob, state)
            # weight of the new value: 1 - smoothing for tiny changes, 1 for changes >= 1/motion_gain
            alpha = np.minimum(diff * self.motion_gain + (1.0 - self.smoothing), 1.0, dtype=np.float32)
            if confidence is not None:
                c = cv2.resize(confidence.astype(np.float32, copy=False), prob.shape[::-1],
                               interpolation=cv2.INTER_LINEAR)
                alpha = 1.0 - (1.0 - alpha) * c
            state = state + alpha * (prob - state)
        if out is None:
            threshold = np.float32(0.5)
        else:
            threshold = 0.5 - self.hysteresis * (2.0 * out - 1.0)
        soft = np.clip((state - threshold) * (1.0 / self.softness) + 0.5, 0.0, 1.0).astype(np.float32)
        self._state, self._out = state, soft
        return soft


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean linear coefficients (a, b) of the guided filter ``q = a * guide + b`` (all float32, same size)."""
    k = (2 * radius + 1, 2 * radius + 1)
    mean_i = cv2.blur(guide, k)
    mean_p = cv2.blur(src, k)
    cov_ip = cv2.blur(guide * src, k) - mean_i * mean_p
    var_i = cv2.blur(guide * guide, k) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return cv2.blur(a, k), cv2.blur(b, k)


def fast_guided_upsample(mask_small: np.ndarray, guide_small: np.ndarray, guide_full: np.ndarray,
                         radius: int = 2, eps: float = 1e-2) -> np.ndarray:
    """The mask at ``guide_full``'s size, edges snapped to the guide (fast guided filter, He & Sun 2015).

    Guides are float32 grey in [0, 1]; the coefficients are computed at the small size, so the cost at full
    size is one bilinear resize of two planes and a multiply-add.
    """
    a, b = guided_coefficients(guide_small, mask_small, radius, eps)
    h, w = guide_full.shape[:2]
    a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    q = cv2.multiply(a, guide_full)
    cv2.add(q, b, dst=q)
    np.clip(q, 0.0, 1.0, out=q)
    return q


def edge_band(mask: np.ndarray, width: int = 5, threshold: float = 0.5) -> np.ndarray:
    """Boolean band of ``width`` pixels on both sides of the mask's ``threshold`` contour."""
    binary = (mask >= threshold).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(binary, k) != cv2.erode(binary, k)


def edge_flicker(masks: list[np.ndarray], width: int = 5) -> float:
    """Mean |mask_t - mask_{t-1}| inside the edge band of frame t, averaged over the sequence.

    Measures shimmering edges: a perfectly steady mask scores 0, a binary edge toggling every frame scores ~1.
    (On moving people it includes genuine motion, so compare methods on the same clip, not across clips.)
    """
    values = []
    for prev, cur in zip(masks, masks[1:]):
        band = edge_band(cur, width) | edge_band(prev, width)
        if band.any():
            values.append(float(np.abs(cur - prev)[band].mean()))
    return float(np.mean(values)) if values else 0.0
