"""The unit that travels down the pipeline, and the few image helpers every stage shares."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True)
class Frame:
    """One RGB uint8 HxWx3 image with its position in the stream and the time it was captured.

    ``timestamp`` is ``time.perf_counter()`` at capture, so end-to-end latency is measured on one clock.
    """

    image: np.ndarray
    index: int
    timestamp: float = field(default_factory=time.perf_counter)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def with_image(self, image: np.ndarray) -> "Frame":
        """Same index and capture time, new pixels (stages return these so latency stays traceable)."""
        return Frame(image=image, index=self.index, timestamp=self.timestamp)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize with INTER_AREA when shrinking (no aliasing) and INTER_LINEAR when growing."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
