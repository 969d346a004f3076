"""Temporal-stability and detail measures used by the acceptance checks, the eval tool and the docs.

warping_error follows Lai et al. 2018 ("Learning Blind Video Temporal Consistency"): for each pair of
consecutive frames, warp output t onto frame t+1 with the flow of the *input* frames and average the squared
difference over the non-occluded pixels (values on a 0..1 scale). The flow here is an independent, slower
DIS "medium" at up to 640 px wide, not the blender's own fast flow.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from livestyle.temporal.flow import DISFlow, small_gray, upscale_flow
from livestyle.temporal.occlusion import fb_consistency
from livestyle.temporal.warp import backward_warp


def reference_flows(inputs: Sequence[np.ndarray], width: int = 640) -> list[tuple[np.ndarray, np.ndarray]]:
    """(flow t+1 -> t, non-occlusion mask) for each consecutive pair of RGB input frames, at frame size."""
    dis = DISFlow("medium")
    pairs = []
    H, W = inputs[0].shape[:2]
    grays = [small_gray(f, width) for f in inputs]
    for a, b in zip(grays[:-1], grays[1:]):
        bw, fw = dis(b, a), dis(a, b)
        mask = fb_consistency(bw, fw)
        flow = upscale_flow(bw, (W, H))
        mask = cv2.resize(mask, (W, H), interpolation=cv2.INTER_NEAREST)
        pairs.append((flow, mask))
    return pairs


def warping_error(outputs: Sequence[np.ndarray], flows_or_inputs: Sequence) -> float:
    """Mean over consecutive pairs of sum(M * |O_{t+1} - warp(O_t)|^2) / sum(M) / 3, pixels scaled to 0..1.

    ``flows_or_inputs``: the RGB input frames (flows and masks computed here, same length as ``outputs``),
    or a list of ``(flow_bw, mask)`` / bare ``flow_bw`` (length ``len(outputs) - 1``; flow from t+1 to t).
    """
    if len(outputs) < 2:
        raise ValueError("warping_error needs at least two frames")
    items = list(flows_or_inputs)
    if len(items) == len(outputs) and isinstance(items[0], np.ndarray) and items[0].dtype == np.uint8:
        items = reference_flows(items)
    if len(items) != len(outputs) - 1:
        raise ValueError(f"need {len(outputs) - 1} flows for {len(outputs)} outputs, got {len(items)}")
    errs = []
    for t, item in enumerate(items):
        flow, mask = item if isinstance(item, tuple) else (item, None)
        a = outputs[t].astype(np.float32) / 255.0
        b = outputs[t + 1].astype(np.float32) / 255.0
        warped = backward_warp(a, flow, "linear")
        sq = ((b - warped) ** 2).mean(axis=2)
        if mask is None:
            mask = np.ones(sq.shape, np.float32)
        total = float(mask.sum())
        if total > 0:
            errs.append(float((sq * mask).sum()) / total)
    return float(np.mean(errs)) if errs else 0.0


def detail(image: np.ndarray) -> float:
    """Texture detail: mean |Laplacian| of the grey image (blur and ghosting lower it)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return float(np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)).mean())


def chroma_detail(image: np.ndarray) -> float:
    """Colour texture detail: mean |Laplacian| of the Cr and Cb planes. ``detail`` sees only grey, so a change
    that keeps the grey strokes and blurs their colours shows here and not there."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    return float(np.mean([np.abs(cv2.Laplacian(ycc[..., c], cv2.CV_32F)).mean() for c in (1, 2)]))


def flicker(outputs: Sequence[np.ndarray]) -> float:
    """Mean absolute difference between consecutive frames, in grey levels (0..255), all channels."""
    if len(outputs) < 2:
        raise ValueError("flicker needs at least two frames")
    return float(np.mean([cv2.absdiff(a, b).mean() for a, b in zip(outputs[:-1], outputs[1:])]))
