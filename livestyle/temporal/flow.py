"""Optical flow between consecutive input frames: OpenCV DIS on small grey frames (Kroeger et al. 2016).

The flow is computed on a ~320-pixel-wide grey frame and scaled up with its vectors. DIS searches coarse to fine
from a zero start, so it loses displacements much larger than its patches at the coarsest level (15-90 px per
frame at full size); :func:`choose_init` gives it a start instead, region by region: the previous frame's flow
(motion persists from frame to frame), the global shift of a camera pan, or no motion, whichever explains the new
frame best there.
"""

from __future__ import annotations

import cv2
import numpy as np

from livestyle.temporal.warp import backward_warp

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "fine": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
# "fine": DIS fast down to the half-size level (finest scale 1 instead of 2) with sparser patches (stride 5) and
# no variational refinement: half the end-point error of "fast" on 20-80 px/frame motion for about +0.5 ms per
# call at 320x240 (docs/TEMPORAL.md, "Large motion").
_TUNING = {"fine": {"FinestScale": 1, "PatchStride": 5, "VariationalRefinementIterations": 0}}


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

    def __init__(self, preset: str = "ultrafast", finest_scale: int | None = None,
                 patch_stride: int | None = None) -> None:
        """``finest_scale``: the finest pyramid level DIS computes (0 = the input's own size, each level
        halves), overriding the preset's; the flow is then upsampled from that level. ``patch_stride``: pixels
        between patches, overriding the preset's (larger is cheaper and coarser)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}: use one of {', '.join(PRESETS)}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        tuning = dict(_TUNING.get(preset, {}))
        if finest_scale is not None:
            tuning["FinestScale"] = int(finest_scale)
        if patch_stride:
            tuning["PatchStride"] = int(patch_stride)
        for name, value in tuning.items():
            getattr(self._dis, f"set{name}")(value)

    def __call__(self, src: np.ndarray, dst: np.ndarray, init: np.ndarray | None = None) -> np.ndarray:
        """Flow ``f`` (HxWx2 float32, x then y) with ``src[y, x] ~ dst[y + f_y, x + f_x]``.

        ``init``: a starting flow of the same size (DIS refines it from its coarsest level); not modified.
        """
        if init is not None and init.shape[:2] == src.shape[:2]:
            return self._dis.calc(src, dst, init.copy())
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


def _half(img: np.ndarray, times: int) -> np.ndarray:
    for _ in range(times):
        img = cv2.pyrDown(img)
    return img


def global_shift(cur: np.ndarray, prev: np.ndarray, levels: int = 1) -> tuple[float, float, float]:
    """Translation ``(dx, dy)`` with ``cur(x) ~ prev(x + d)`` by phase correlation on ``levels``-times halved
    frames, in the frames' own pixels, plus the correlation peak (near 0: no single shift, e.g. a cut)."""
    a = _half(cur, levels).astype(np.float32)
    b = _half(prev, levels).astype(np.float32)
    win = _hann(a.shape)
    (dx, dy), peak = cv2.phaseCorrelate(a, b, win)
    s = float(2 ** levels)
    return dx * s, dy * s, float(peak)


_HANN: dict[tuple[int, int], np.ndarray] = {}


def _hann(shape: tuple[int, ...]) -> np.ndarray:
    key = (int(shape[0]), int(shape[1]))
    w = _HANN.get(key)
    if w is None:
        if len(_HANN) > 8:
            _HANN.clear()
        w = _HANN[key] = cv2.createHanningWindow((key[1], key[0]), cv2.CV_32F)
    return w


def choose_init(cur: np.ndarray, prev: np.ndarray, prior: np.ndarray | None, levels: int = 2,
                box: int = 9, margin: float = 4.0) -> np.ndarray:
    """A start for DIS on ``cur -> prev`` (grey, same size), chosen per region among no motion, the global shift
    (phase correlation) and the previous flow ``prior``: whichever leaves the smallest local residual
    (``box`` x ``box`` mean) on ``levels``-times halved frames. About 0.3 ms at 320x240.

    Motion persists, so the previous flow is usually the best start where things move on their own; a pan's single
    shift is the best start for the background, even on the first frame; where the motion stops, no motion wins.
    """
    a, b = _half(cur, levels), _half(prev, levels)
    h, w = a.shape[:2]
    s = np.float32(0.5 ** levels)
    cands = [np.zeros((h, w, 2), np.float32)]
    dx, dy, peak = global_shift(a, b, 0)
    if peak > 0.05:
        shift = np.empty((h, w, 2), np.float32)
        shift[..., 0], shift[..., 1] = dx, dy
        cands.append(shift)
    if prior is not None and prior.shape[:2] == cur.shape[:2]:
        cands.append(cv2.resize(prior, (w, h), interpolation=cv2.INTER_AREA) * s)
    # Later candidates are preferred: another wins only by ``margin`` grey levels, so flat regions, where all
    # candidates fit alike, keep the previous flow instead of flipping between starts from frame to frame.
    init = cands[0]
    best = None
    for i, c in enumerate(cands):
        err = cv2.blur(cv2.absdiff(a, backward_warp(b, c, "linear")), (box, box)).astype(np.float32)
        err -= np.float32(margin * i)
        if best is None:
            best = err
            continue
        wins = cv2.compare(err, best, cv2.CMP_LT)
        cv2.copyTo(c, wins, init)
        best = cv2.min(err, best)
    return cv2.resize(init, (cur.shape[1], cur.shape[0]), interpolation=cv2.INTER_LINEAR) * np.float32(1 / s)
