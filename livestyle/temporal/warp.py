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


def warp_by_flow(image: np.ndarray, flow: np.ndarray, interpolation: str = "cubic") -> np.ndarray:
    """Backward-warp ``image`` (H x W) along ``flow`` computed at a smaller size (h x w, small-frame pixels).

    The vectors are scaled at the small size (a quarter of the pixels) and resized straight into the sampling
    map, so the full-size map is the only full-size float array. Linear warps use OpenCV's fixed-point maps
    (``cv2.convertMaps``; 1.7 -> 1.1 ms at 640x480 on one core); cubic ones keep the float map, where the
    fixed-point map saves nothing measurable (docs/BENCHMARKS.md).
    """
    H, W = image.shape[:2]
    h, w = flow.shape[:2]
    if (h, w) == (H, W):
        return backward_warp(image, flow, interpolation)
    coords = cv2.resize(cv2.multiply(flow, (W / w, H / h, 0.0, 0.0)), (W, H), interpolation=cv2.INTER_LINEAR)
    cv2.add(coords, grid(H, W), dst=coords)
    if interpolation == "linear":
        m1, m2 = cv2.convertMaps(coords, None, cv2.CV_16SC2)
        return cv2.remap(image, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    spans = moving_spans(flow, (W, H))
    if spans is None:
        return cv2.remap(image, coords, None, INTERPOLATIONS[interpolation], borderMode=cv2.BORDER_REPLICATE)
    out = image.copy()  # zero flow samples each pixel at itself: the unchanged picture, exactly
    for y0, y1, x0, x1 in spans:
        out[y0:y1, x0:x1] = cv2.remap(image, coords[y0:y1, x0:x1], None, INTERPOLATIONS[interpolation],
                                      borderMode=cv2.BORDER_REPLICATE)
    return out


BAND = 8  # small-flow rows per band of ``moving_spans``


def moving_spans(flow: np.ndarray, size: tuple[int, int],
                 max_share: float = 0.6) -> list[tuple[int, int, int, int]] | None:
    """Full-size rectangles ``(y0, y1, x0, x1)`` that hold every pixel whose sampling map moves, one per band of
    ``BAND`` small rows; None when they would cover more than ``max_share`` of the frame (warp it whole).

    ``TemporalBlender.estimate_motion`` sets the flow to exactly zero where the input did not change, and a zero
    vector makes the sampling map the pixel grid, where a cubic remap returns each pixel unchanged. A webcam in
    front of a still room only needs the moving part warped. Margins: the bilinear resize of the small flow
    spreads each vector over the full-size pixels next to it, covered by dilating the small mask one pixel.
    """
    W, H = size
    h, w = flow.shape[:2]
    nonzero = cv2.compare(cv2.max(cv2.absdiff(flow[..., 0], 0), cv2.absdiff(flow[..., 1], 0)), 0, cv2.CMP_GT)
    if cv2.countNonZero(nonzero) > max_share * h * w:
        return None  # a pan or a moving camera: no need to look for spans
    moving = cv2.dilate(nonzero, np.ones((3, 3), np.uint8))
    sx, sy = W / w, H / h
    spans: list[tuple[int, int, int, int]] = []
    area = 0
    for r0 in range(0, h, BAND):
        cols = np.flatnonzero(moving[r0:r0 + BAND].any(axis=0))
        if cols.size == 0:
            continue
        y0, y1 = int(r0 * sy), min(H, int(np.ceil(min(h, r0 + BAND) * sy)))
        x0, x1 = max(0, int((cols[0] - 1) * sx)), min(W, int(np.ceil((cols[-1] + 2) * sx)))
        spans.append((y0, y1, x0, x1))
        area += (y1 - y0) * (x1 - x0)
    return spans if area <= max_share * W * H else None
