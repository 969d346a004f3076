"""PersonSegmenter: shapes, ranges, a real person found, size validation, every-n frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livestyle.errors import ConfigError, ModelError
from livestyle.segment import PersonSegmenter


@pytest.fixture(scope="module")
def person_rgb(fixtures_dir):
    bgr = cv2.imread(str(fixtures_dir / "person_intel.jpg"), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("h,w", [(37, 53), (121, 97), (480, 640), (1, 1)])
@pytest.mark.parametrize("refine", [False, True])
def test_mask_shape_and_range_at_odd_sizes(h, w, refine):
    frame = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = PersonSegmenter(refine=refine)
    for _ in range(2):
        m = seg(frame)
        assert m.shape == (h, w) and m.dtype == np.float32
        assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0


def test_person_photo_gets_a_person_mask(person_rgb):
    m = PersonSegmenter(stabilise=False)(person_rgb)
    h, w = m.shape
    area = float((m >= 0.5).mean())
    assert 0.05 < area < 0.4, area
    # the person stands in the middle third; the white wall on the left is background
    assert m[h // 3: 2 * h // 3, int(w * 0.55): int(w * 0.7)].mean() > 0.8
    assert m[: h // 2, : w // 5].mean() < 0.05


def test_empty_scene_gets_little_mask():
    gray_wall = np.full((144, 256, 3), 180, np.uint8)
    assert float((PersonSegmenter(stabilise=False)(gray_wall) >= 0.5).mean()) < 0.01


def test_flow_and_every_n(person_rgb):
    seg = PersonSegmenter(every=2)
    flow = np.zeros((30, 40, 2), np.float32)
    masks = [seg(person_rgb, flow=flow) for _ in range(3)]
    assert all(m.shape == person_rgb.shape[:2] for m in masks)
    np.testing.assert_allclose(masks[1], masks[0], atol=1e-5)  # frame 2 is carried, not re-run


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError):
        PersonSegmenter(size=(250, 144))
    with pytest.raises(ConfigError):
        PersonSegmenter(device="tpu")
    with pytest.raises(ModelError):
        PersonSegmenter(model_path=tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ModelError):
        PersonSegmenter(model_path=bad)


def test_other_size_runs(person_rgb):
    m = PersonSegmenter(size=(160, 96), stabilise=False)(person_rgb)
    assert 0.05 < float((m >= 0.5).mean()) < 0.4
