"""The blob check of tools.evaluate (issue 11.3): flags saturation that inverts the photo (white on dark, black on
light), not bright areas painted white or dark ones painted black."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tools.artefacts import MAX_BLOB_AREA, MAX_DOT_AREA, find_blobs, flagged


def _photo(h: int = 120, w: int = 160) -> np.ndarray:
    """Left half dark (luma ~60), right half light (luma ~200), with some texture."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.where(xx < w // 2, 60, 200)
    return np.stack([base + xx % 7, base + yy % 5, base], -1).astype(np.uint8)


def test_clean_output_has_no_blobs() -> None:
    photo = _photo()
    r = find_blobs(photo // 2 + 40, photo)
    assert r.count == 0 and r.area == 0.0 and not flagged([r])


def test_white_blob_on_dark_and_black_hole_on_light_are_found_and_flagged() -> None:
    photo = _photo()
    out = photo.copy()
    cv2.circle(out, (40, 60), 12, (255, 255, 255), -1)   # on the dark half
    cv2.circle(out, (120, 60), 9, (0, 0, 0), -1)         # on the light half
    r = find_blobs(out, photo)
    assert r.count == 2 and r.white_area > r.black_area > 0
    assert r.area == pytest.approx((np.pi * 12**2 + np.pi * 9**2) / (120 * 160), rel=0.15)
    assert r.area > MAX_BLOB_AREA and flagged([r]) and flagged([r.to_dict()])


def test_saturation_the_photo_explains_and_tiny_specks_do_not_count() -> None:
    photo = _photo()
    out = photo.copy()
    cv2.circle(out, (120, 60), 15, (255, 255, 255), -1)   # light area painted white
    cv2.circle(out, (40, 60), 15, (0, 0, 0), -1)          # dark area painted black
    out[10, 10] = out[11, 11] = 255                       # two saturated highlights on dark
    r = find_blobs(out, photo)
    assert r.count == 0 and not flagged([r])


def test_sizes_must_match() -> None:
    with pytest.raises(ValueError):
        find_blobs(_photo(), _photo(60, 80))


def test_pure_colour_blob_far_from_the_photo_is_found() -> None:
    photo = _photo()
    out = photo.copy()
    cv2.circle(out, (120, 60), 12, (255, 255, 0), -1)     # saturated yellow on a grey-ish light area
    r = find_blobs(out, photo)
    assert r.count == 1 and r.colour_area > 0 and r.white_area == r.black_area == 0


def test_white_patch_on_a_light_coloured_area_is_found_but_not_on_a_white_one() -> None:
    """water_lilies-full's white patches: on a light but coloured photo area (pink, luma ~160), not on white."""
    photo = np.zeros((120, 160, 3), np.uint8)
    photo[:, :80] = (230, 120, 150)                       # pink flower: light (luma ~157), darkest channel 120
    photo[:, 80:] = (235, 235, 230)                       # white wall
    out = np.full_like(photo, 128)
    cv2.circle(out, (40, 60), 14, (255, 255, 255), -1)
    cv2.circle(out, (120, 60), 14, (255, 255, 255), -1)
    r = find_blobs(out, photo)
    assert r.count == 1 and r.white_area == pytest.approx(np.pi * 14**2 / (120 * 160), rel=0.15)
    assert flagged([r])


def test_two_channel_colour_patch_is_found_but_not_a_colour_the_photo_explains() -> None:
    """the_scream-full's dark-green patches (two channels at 0) on grey; a yellow hat painted cream is the photo's."""
    photo = np.zeros((120, 160, 3), np.uint8)
    photo[:, :80] = (200, 200, 200)                       # light grey wall
    photo[:, 80:] = (230, 240, 10)                        # yellow hat
    out = np.full_like(photo, 128)
    cv2.circle(out, (40, 60), 14, (0, 90, 0), -1)          # green patch: R and B saturated, 200 away from the wall
    cv2.circle(out, (120, 60), 14, (250, 248, 220), -1)    # cream: R and G saturated but close to the photo's
    r = find_blobs(out, photo)
    assert r.count == 1 and r.colour_area == pytest.approx(np.pi * 14**2 / (120 * 160), rel=0.15)
    assert r.white_area == r.black_area == 0 and flagged([r])


def _sprinkle(out: np.ndarray, photo: np.ndarray, step: int, radius: int = 1) -> None:
    """White dots (3x3 squares) every ``step`` pixels over the dark half, as the first composition_vii-full did."""
    for y in range(6, out.shape[0] - 6, step):
        for x in range(6, out.shape[1] // 2 - 6, step):
            out[y - radius:y + radius + 1, x - radius:x + radius + 1] = 255


def test_a_sprinkle_of_tiny_dots_is_flagged_but_a_few_specks_are_not() -> None:
    """Each dot is far below the blob floor; hundreds of them are an artefact, a dozen are highlights."""
    photo = _photo()
    many, few = photo.copy(), photo.copy()
    _sprinkle(many, photo, step=6)
    _sprinkle(few, photo, step=40)
    r_many, r_few = find_blobs(many, photo), find_blobs(few, photo)
    assert r_many.count == 0 and r_few.count == 0                # no region reaches the blob floor
    assert r_many.dot_count == len(range(6, 114, 6)) * len(range(6, 74, 6))
    assert r_many.dot_area == pytest.approx(r_many.dot_count * 9 / (120 * 160))
    assert r_many.dot_area > MAX_DOT_AREA and flagged([r_many]) and flagged([r_many.to_dict()])
    assert 0 < r_few.dot_area < MAX_DOT_AREA and not flagged([r_few])


def test_dots_the_photo_explains_do_not_count() -> None:
    photo = _photo()
    out = photo.copy()
    for y in range(6, 114, 6):                                  # 3x3 white dots on the light half: the photo's own
        for x in range(86, 154, 6):
            out[y - 1:y + 2, x - 1:x + 2] = 255
    assert find_blobs(out, photo).dot_count == 0
    _sprinkle(out, photo, step=6)                                # the same on the dark half are counted
    assert find_blobs(out, photo).dot_area > MAX_DOT_AREA
