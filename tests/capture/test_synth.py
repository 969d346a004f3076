"""The synthetic scenes: the exposed flow really is the motion, and the still scene has the promised noise."""

from __future__ import annotations

import time

import cv2
import numpy as np

from livestyle.capture import open_source
from livestyle.capture.synth import SynthSource, SynthStillSource


def remap_with(prev: np.ndarray, backward_flow: np.ndarray) -> np.ndarray:
    h, w = prev.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(prev, xs + backward_flow[..., 0], ys + backward_flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def test_spec_sizes() -> None:
    with open_source("synth:96x64") as source:
        assert source.size == (96, 64)
        assert source.read().image.shape == (64, 96, 3)
    with open_source("synth", size=(40, 30)) as source:
        assert source.read().image.shape == (30, 40, 3)
    with open_source("synth-still:32x24") as source:
        assert source.read().image.dtype == np.uint8


def test_known_backward_flow_warps_previous_onto_current() -> None:
    source = SynthSource(160, 120, rotation_period=20.0)
    source.read()
    prev = source.read().image
    cur = source.read().image
    flow_b = source.last_flow_backward
    warped = remap_with(prev, flow_b)
    inner = (slice(8, -8), slice(8, -8))
    err_warped = np.abs(warped.astype(float) - cur)[inner].mean()
    err_static = np.abs(prev.astype(float) - cur)[inner].mean()
    assert err_warped < 0.2 * err_static
    # The flow is not trivially constant: the camera rotates, and the object moves on its own.
    assert float(np.ptp(flow_b[..., 0])) > 0.1
    obj = source.last_object_mask
    assert obj.any()
    bg_flow = np.median(flow_b[~obj], axis=0)
    assert np.abs(flow_b[obj].mean(axis=0) - bg_flow).max() > 0.5


def test_forward_flow_matches_opencv_estimate_on_the_background() -> None:
    source = SynthSource(160, 120)
    prev = source.read().image
    cur = source.read().image
    flow_f = source.last_flow
    est = cv2.calcOpticalFlowFarneback(cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY), cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY),
                                       None, 0.5, 3, 15, 3, 5, 1.2, 0)
    inner = (slice(20, -20), slice(20, -20))
    assert np.median(np.abs(est - flow_f)[inner]) < 0.5
    np.testing.assert_allclose(source.last_flow_backward.mean((0, 1)), -flow_f.mean((0, 1)), atol=0.5)


def test_still_scene_noise_level_and_zero_flow() -> None:
    source = SynthStillSource(64, 48, noise=2.5)
    a = source.read().image.astype(float)
    b = source.read().image.astype(float)
    assert 2.0 < (a - source.clean).std() < 3.0
    assert 2.0 < (a - b).std() / np.sqrt(2) < 3.0  # independent noise per frame
    assert not source.last_flow.any()


def test_finite_when_asked() -> None:
    source = SynthSource(32, 24, frames=3)
    assert [source.read() is not None for _ in range(4)] == [True, True, True, False]


def test_generation_is_cheap() -> None:
    """Feeds the 30 FPS benchmark: a frame must cost a small part of a 33 ms budget (generous for a busy CI box)."""
    source = SynthSource(640, 480)
    source.read()
    start = time.perf_counter()
    for _ in range(30):
        source.read()
    assert (time.perf_counter() - start) / 30 < 0.010
