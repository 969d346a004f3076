"""tools.flicker_probe: texture energy and the shift/noise instability of a stylizer, normalised by texture."""

from __future__ import annotations

import numpy as np
import pytest

from tools.flicker_probe import probe_photos, texture


def _photo(h: int = 64, w: int = 90) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(xx * 7) % 256, (yy * 5) % 256, (xx + yy) % 256], -1).astype(np.uint8)


def test_texture_is_zero_on_flat_images_and_grows_with_contrast() -> None:
    flat = np.full((16, 16, 3), 100, np.uint8)
    stripes = np.zeros((16, 16, 3), np.uint8)
    stripes[:, ::2] = 255
    assert texture([flat]) == 0.0
    assert texture([stripes]) == pytest.approx(0.5)  # x differences all 1, y differences 0


def test_an_equivariant_stylizer_has_no_shift_error_and_a_grid_locked_one_has() -> None:
    photos = [_photo()]
    same = probe_photos(lambda x: x, photos, width=80, shifts=(1, 2))
    assert same["shift_1px"] == 0.0 and same["shift_2px"] == 0.0
    assert 0 < same["noise"] < 0.1  # two noise draws of std 2 differ a little

    def grid_locked(x: np.ndarray) -> np.ndarray:  # a pattern fixed to the pixel grid, not to the content
        out = x.copy()
        out[:, ::3] = 255
        return out

    locked = probe_photos(grid_locked, photos, width=80, shifts=(1,))
    assert locked["shift_1px"] > 0.1


def test_unknown_model_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.flicker_probe import main

    assert main(["--models", "no_such_style-lite"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
