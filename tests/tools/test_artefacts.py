"""The blob check of tools.evaluate (issue 11.3): flags flat white/black patches the photo does not have."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tools.artefacts import MAX_BLOB_AREA, find_blobs, flagged


def _photo(h: int = 120, w: int = 160) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([60 + xx % 100, 80 + yy % 90, np.full((h, w), 110)], -1).astype(np.uint8)


def test_clean_output_has_no_blobs() -> None:
    photo = _photo()
    r = find_blobs(photo // 2 + 40, photo)
    assert r.count == 0 and r.area == 0.0 and not flagged([r])


def test_white_blob_and_black_hole_are_found_and_flagged() -> None:
    photo = _photo()
    out = photo.copy()
    cv2.circle(out, (40, 40), 12, (255, 255, 255), -1)
    cv2.circle(out, (120, 80), 9, (0, 0, 0), -1)
    r = find_blobs(out, photo)
    assert r.count == 2 and r.white_area > r.black_area > 0
    assert r.area == pytest.approx((np.pi * 12**2 + np.pi * 9**2) / (120 * 160), rel=0.15)
    assert r.area > MAX_BLOB_AREA and flagged([r]) and flagged([r.to_dict()])


def test_white_that_is_in_the_photo_and_tiny_specks_do_not_count() -> None:
    photo = _photo()
    cv2.rectangle(photo, (10, 10), (60, 50), (250, 250, 250), -1)   # a white wall in the photo
    out = photo.copy()
    cv2.rectangle(out, (12, 12), (58, 48), (255, 255, 255), -1)      # painted white where the photo is white
    out[100, 100] = out[101, 101] = 255                              # two saturated highlights
    r = find_blobs(out, photo)
    assert r.count == 0 and not flagged([r])


def test_sizes_must_match() -> None:
    with pytest.raises(ValueError):
        find_blobs(_photo(), _photo(60, 80))
