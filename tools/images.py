"""Image I/O for the training tools: files <-> RGB uint8 arrays <-> RGB float [0, 255] NCHW tensors.

OpenCV does the decoding and resizing (it is already a runtime dependency); unreadable files raise
:class:`livestyle.errors.SourceError` so every CLI can turn them into one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from livestyle.errors import ConfigError, SinkError, SourceError
from livestyle.frames import resize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 HxWx3 (grey and alpha images are converted)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"image not found: {path} (check the path)")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise SourceError(f"cannot read {path} as an image (is it a PNG/JPEG file?)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def fit_size(width: int, height: int, longest: int | None, multiple: int = 1) -> tuple[int, int]:
    """(w, h) scaled so the longer side is ``longest`` (None keeps the size), rounded to ``multiple``."""
    if longest is not None:
        if longest < 16:
            raise ConfigError(f"size {longest} is too small: use at least 16 pixels")
        scale = longest / max(width, height)
        width, height = round(width * scale), round(height * scale)
    width = max(multiple, int(round(width / multiple)) * multiple)
    height = max(multiple, int(round(height / multiple)) * multiple)
    return width, height


def resize_longest(image: np.ndarray, longest: int | None) -> np.ndarray:
    """Resize so the longer side is ``longest`` pixels, keeping the aspect ratio."""
    h, w = image.shape[:2]
    nw, nh = fit_size(w, h, longest)
    return resize(image, nw, nh)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 HxWx3 -> float32 (1, 3, H, W) in [0, 255]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().unsqueeze(0).contiguous()


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) float in [0, 255] -> RGB uint8 HxWx3 (rounded and clamped)."""
    t = tensor.detach().cpu()
    if t.ndim == 4:
        t = t[0]
    return t.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def load_tensor(path: str | Path, longest: int | None = None) -> torch.Tensor:
    """Read an image as a (1, 3, H, W) float tensor in [0, 255], longer side resized to ``longest``."""
    return to_tensor(resize_longest(load_rgb(path), longest))


def save_rgb(image: np.ndarray | torch.Tensor, path: str | Path) -> Path:
    """Write RGB uint8 (or a [0, 255] tensor) to ``path``; the format follows the suffix. Creates parent folders."""
    if isinstance(image, torch.Tensor):
        image = to_image(image)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise SinkError(f"cannot encode an image as {path.suffix!r}: use .png or .jpg")
    buf.tofile(str(path))
    return path


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
