"""Automatic check for the "blob" artefacts of fast style networks (issue 11.3).

A fast network whose sigmoid output saturated paints flat white blobs or black holes that are not in the photo
(the first ``udnie-full`` and ``the_scream-full``). Such a region is a connected patch of pixels that are
near-white (every channel >= ``bright``) or near-black (every channel <= ``dark``) in the output while the photo
there is neither bright nor dark. Paintings rarely have large pure-white or pure-black areas, and the patches of the
photo that are (a white wall, a black coat) are excluded, so what remains is the network's doing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

#: Per photo, the share of the picture that may be covered by blobs before the model is flagged. Set by looking at
#: the first twelve models on the held-out photos at 512 px: the visibly blobbed full models scored 1.3-10.6 %, the
#: clean-looking lite models 0-0.54 % (udnie-lite: dark patches where Udnie has dark patches).
MAX_BLOB_AREA = 0.0075


@dataclass(frozen=True)
class BlobReport:
    """What :func:`find_blobs` found on one output: blob count, total and largest area (shares of the picture)."""

    count: int
    area: float
    largest: float
    white_area: float
    black_area: float

    def to_dict(self) -> dict[str, float]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _regions(mask: np.ndarray, min_area: int) -> list[int]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [int(a) for a in stats[1:, cv2.CC_STAT_AREA] if a >= min_area]


def find_blobs(output: np.ndarray, photo: np.ndarray, *, bright: int = 245, dark: int = 10, margin: int = 40,
               min_area: float = 0.0005, grow: int = 5) -> BlobReport:
    """Near-white / near-black regions of ``output`` (RGB uint8) that the ``photo`` (same size) does not have.

    A photo pixel "has" white if its darkest channel is >= ``bright - margin`` (black: brightest channel <=
    ``dark + margin``), grown by ``grow`` pixels so the edges of such areas do not count. Regions smaller than
    ``min_area`` of the picture (at least 16 pixels) are ignored: a few saturated stroke highlights are fine.
    """
    if output.shape != photo.shape:
        raise ValueError(f"output {output.shape} and photo {photo.shape} differ in size")
    h, w = output.shape[:2]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    photo_white = cv2.dilate((photo.min(axis=2) >= bright - margin).astype(np.uint8), kernel) > 0
    photo_black = cv2.dilate((photo.max(axis=2) <= dark + margin).astype(np.uint8), kernel) > 0
    white = (output.min(axis=2) >= bright) & ~photo_white
    black = (output.max(axis=2) <= dark) & ~photo_black
    floor = max(16, int(min_area * h * w))
    rw, rb = _regions(white, floor), _regions(black, floor)
    total = float(h * w)
    both = rw + rb
    return BlobReport(count=len(both), area=sum(both) / total, largest=max(both, default=0) / total,
                      white_area=sum(rw) / total, black_area=sum(rb) / total)


def flagged(reports: list[BlobReport] | list[dict], limit: float = MAX_BLOB_AREA) -> bool:
    """True if any photo's blob area exceeds ``limit`` (a share of the picture)."""
    return any((r["area"] if isinstance(r, dict) else r.area) > limit for r in reports)
