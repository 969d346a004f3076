"""Training data for the feed-forward trainer: photos (random crops) and optional real video pairs.

Photos are decoded once and kept in memory, shrunk so the shorter side is ``1.6 x size`` (the training sets here
are a few hundred photos; decoding JPEGs every step would cost more than the network on a 2-core CPU). Each item
is a random crop of random scale, resized to ``size x size`` and randomly mirrored.

Held-out evaluation photos (:mod:`tools.splits`) are excluded at listing time, whatever folder is given.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from livestyle.errors import SourceError
from livestyle.frames import resize
from tools.images import IMAGE_SUFFIXES, load_rgb
from tools.splits import is_held_out


def list_training_images(dirs: Sequence[str | Path]) -> list[Path]:
    """Every image file under ``dirs`` (recursively), sorted, without the held-out photos."""
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            candidates = [d]
        elif d.is_dir():
            candidates = [p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        else:
            raise SourceError(f"training data folder not found: {d} (give folders of photos with --data)")
        files += [p for p in candidates if not is_held_out(p)]
    files = sorted(set(files))
    if not files:
        raise SourceError(f"no training images in {', '.join(map(str, dirs))} (need .jpg/.png photos)")
    return files


def _teacher_targets(tdir: Path) -> dict[str, Path]:
    """{photo stem: target image}: from the manifest of ``tools.teacher`` (targets named by content hash) when
    there is one, else from files named ``<photo stem>.<ext>``."""
    from tools.teacher import load_manifest

    manifest = load_manifest(tdir)
    if manifest:
        return {Path(src).stem: target for src, target in manifest.items()}
    return {p.stem: p for p in tdir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}


class PhotoCrops(Dataset):
    """Random square crops of training photos as RGB float [0, 255] tensors (3, size, size).

    With ``teacher_dir`` (teacher targets, e.g. Gatys outputs, named ``<photo stem>.<png|jpg>``), items are
    (6, size, size): the photo crop and the same crop of its teacher image; photos without a target are skipped.
    """

    def __init__(self, dirs: Sequence[str | Path], size: int = 256, *, seed: int = 0,
                 teacher_dir: str | Path | None = None) -> None:
        self.paths = list_training_images(dirs)
        teachers: dict[str, Path] = {}
        if teacher_dir is not None:
            tdir = Path(teacher_dir)
            if not tdir.is_dir():
                raise SourceError(f"teacher folder not found: {tdir}")
            teachers = _teacher_targets(tdir)
            self.paths = [p for p in self.paths if p.stem in teachers]
            if not self.paths:
                raise SourceError(f"no teacher targets in {tdir} match the training photos "
                                  "(make them with python -m tools.teacher, or name them <photo stem>.png)")
        self.size = int(size)
        self.rng = random.Random(seed)
        keep = round(self.size * 1.6)
        self.images: list[np.ndarray] = []
        for p in self.paths:
            img = load_rgb(p)
            h, w = img.shape[:2]
            s = keep / min(h, w)
            if s < 1:
                img = resize(img, max(1, round(w * s)), max(1, round(h * s)))
            if teachers:
                t = load_rgb(teachers[p.stem])
                img = np.concatenate([img, resize(t, img.shape[1], img.shape[0])], axis=2)
            self.images.append(np.ascontiguousarray(img))

    def __len__(self) -> int:
        return len(self.images)

    def crop(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        side = min(h, w)
        c = self.rng.randint(max(8, int(side * 0.6)), side)
        y = self.rng.randint(0, h - c)
        x = self.rng.randint(0, w - c)
        patch = img[y:y + c, x:x + c]
        # OpenCV resizes at most 4 channels at once: photo and teacher target separately.
        out = np.concatenate([resize(np.ascontiguousarray(patch[..., i:i + 3]), self.size, self.size)
                              for i in range(0, patch.shape[2], 3)], axis=2)
        if self.rng.random() < 0.5:
            out = out[:, ::-1]
        return out

    def __getitem__(self, i: int) -> torch.Tensor:
        out = self.crop(self.images[i])
        return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).float()


class VideoPairs(Dataset):
    """Consecutive frames of real videos (folders of frames) with DIS optical flow and a consistency mask.

    Items are (frame1, frame2, flow, mask) with the same backward-flow convention as :mod:`tools.motion`:
    frame2[y, x] ~ frame1[y + flow_y, x + flow_x]; mask is 0 where forward and backward flow disagree
    (occlusions), using Ruder et al.'s test |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5.
    """

    def __init__(self, dirs: Sequence[str | Path], size: int = 256) -> None:
        self.size = int(size)
        self.pairs: list[tuple[Path, Path]] = []
        for d in dirs:
            frames = sorted(p for p in Path(d).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            self.pairs += list(zip(frames[:-1], frames[1:]))
        if not self.pairs:
            raise SourceError(f"no consecutive frames in {', '.join(map(str, dirs))} (give folders of video frames)")
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, p: Path) -> np.ndarray:
        img = load_rgb(p)
        h, w = img.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        return resize(img[y:y + side, x:x + side], self.size, self.size)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        a, b = (self._load(p) for p in self.pairs[i])
        ga, gb = (cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in (a, b))
        back = self._dis.calc(gb, ga, None)   # for each pixel of b: where it is in a
        fwd = self._dis.calc(ga, gb, None)
        h, w = ga.shape
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        fwd_at = cv2.remap(fwd, xs + back[..., 0], ys + back[..., 1], cv2.INTER_LINEAR)
        s = back + fwd_at
        ok = (s**2).sum(-1) <= 0.01 * ((back**2).sum(-1) + (fwd_at**2).sum(-1)) + 0.5
        t = lambda im: torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float()  # noqa: E731
        return t(a), t(b), torch.from_numpy(back).permute(2, 0, 1).contiguous(), torch.from_numpy(ok[None].astype(np.float32))
