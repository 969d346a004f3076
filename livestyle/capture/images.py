"""Still images as sources: a folder of frames (sorted, every frame, names kept) or a single image (one frame)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import SourceError
from livestyle.frames import Frame, resize

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def natural_key(name: str) -> list[object]:
    """Sort ``frame_2`` before ``frame_10`` (what a person numbering frames means)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def load_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 (grey and alpha are converted), or raise a one-line ``SourceError``."""
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else None  # fromfile: non-ASCII paths on Windows
    if data is None:
        raise SourceError(f"image not found: {path}")
    bgr = _decode_quietly(data) if data.size else None
    if bgr is None:
        raise SourceError(f"cannot read image {path}: not an image or corrupt")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _decode_quietly(data: np.ndarray) -> np.ndarray | None:
    """``cv2.imdecode`` without OpenCV's native warnings on stderr: a corrupt file is reported once, by our
    ``SourceError`` line, not by two lines of libpng internals before it."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(data, cv2.IMREAD_COLOR)
    finally:
        logging.setLogLevel(level)


class ImageFolderSource:
    """Every image in ``folder`` in natural sort order. ``names`` lists their file names, so folder -> folder keeps
    names (``names[frame.index]``). Frames whose size differs from the first are resized to the first's size
    (or to ``size`` when given)."""

    is_live = False

    def __init__(self, folder: str | Path, size: tuple[int, int] | None = None, fps: float = 30.0) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"folder not found: {self.folder}")
        paths = sorted((p for p in self.folder.iterdir() if p.is_file() and is_image_path(p)),
                       key=lambda p: natural_key(p.name))
        if not paths:
            exts = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise SourceError(f"no images in folder {self.folder} (looked for {exts})")
        self.paths = paths
        self.names = [p.name for p in paths]
        self._first = load_rgb(paths[0])
        h, w = self._first.shape[:2]
        self._size = size or (w, h)
        self._fps = float(fps)
        self._index = 0
        self._closed = False

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return 0

    @property
    def frame_count(self) -> int | None:
        return len(self.paths)

    def read(self) -> Frame | None:
        if self._closed or self._index >= len(self.paths):
            return None
        image = self._first if self._index == 0 else load_rgb(self.paths[self._index])
        image = resize(image, self._size[0], self._size[1])
        frame = Frame(image=image, index=self._index, timestamp=time.perf_counter())
        self._index += 1
        return frame

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "ImageFolderSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageFileSource(ImageFolderSource):
    """A single image: one frame, then the end. ``names`` is ``[file name]``."""

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, fps: float = 30.0) -> None:
        path = Path(path)
        self.folder = path.parent
        self.paths = [path]
        self.names = [path.name]
        self._first = load_rgb(path)
        h, w = self._first.shape[:2]
        self._size = size or (w, h)
        self._fps = float(fps)
        self._index = 0
        self._closed = False
