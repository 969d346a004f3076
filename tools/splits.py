"""Held-out evaluation photos: never used for training, so quality figures measure generalisation.

Names are relative to the photos root (``/work/shared/data/photos`` during development, or any folder with the
same layout). The split mixes Kodak (landscapes, faces, objects) and COCO (people, street, indoor) so the
evaluation sees the kinds of content a webcam shows. :func:`is_held_out` matches by the last two path parts
(``kodak24/kodim23.png``), so it works wherever the photo folder is mounted.
"""

from __future__ import annotations

from pathlib import Path

#: 12 held-out photos: 6 Kodak + 6 COCO (permissive licences, see /work/shared/data/SOURCES.md).
HELD_OUT: tuple[str, ...] = (
    "kodak24/kodim03.png",
    "kodak24/kodim07.png",
    "kodak24/kodim13.png",
    "kodak24/kodim15.png",
    "kodak24/kodim19.png",
    "kodak24/kodim23.png",
    "coco_permissive/train2017_000000000030.jpg",
    "coco_permissive/train2017_000000000370.jpg",
    "coco_permissive/val2017_000000005001.jpg",
    "coco_permissive/val2017_000000099053.jpg",
    "coco_permissive/val2017_000000252332.jpg",
    "coco_permissive/val2017_000000397133.jpg",
)

_HELD_OUT_KEYS = frozenset(HELD_OUT)
_HELD_OUT_NAMES = frozenset(Path(p).name for p in HELD_OUT)


def _key(path: str | Path) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def is_held_out(path: str | Path) -> bool:
    """True for a held-out photo, wherever its folder lives (matched by ``<folder>/<file name>``, or by the
    file name alone when the photo has been copied elsewhere, so a copy cannot sneak into training)."""
    p = Path(path)
    return _key(p) in _HELD_OUT_KEYS or p.name in _HELD_OUT_NAMES


def held_out_paths(photos_root: str | Path) -> list[Path]:
    """Absolute paths of the held-out photos under ``photos_root`` (missing ones are skipped)."""
    root = Path(photos_root)
    return [root / rel for rel in HELD_OUT if (root / rel).is_file()]
