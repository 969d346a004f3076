"""Where the bundled data lives, in a wheel and in a clone, found the same way in both.

A built wheel carries the repository's top-level ``models/``, ``assets/`` and ``tools/`` folders inside the
package, as ``livestyle/_bundled/models``, ``livestyle/_bundled/assets`` and ``livestyle/_train/tools`` (see
``setup.py``), so an installed package needs no source tree. A clone (plain or editable install) has no such
folders inside ``livestyle/``; there the repository's own top-level folders are used. Looking inside the package
first means a wheel never reads a stray clone, and a clone keeps its layout.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

PACKAGE = "livestyle"
_REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_ENV = "LIVESTYLE_MODELS"


def _packaged(*parts: str) -> Path | None:
    """``livestyle/<parts>`` inside the installed package when it is a real folder on disk, else None."""
    node = importlib.resources.files(PACKAGE)
    for part in parts:
        node = node / part
    if isinstance(node, Path) and node.is_dir():
        return node
    try:  # a Traversable that is not a Path (e.g. a zip import): only usable if it maps to a folder on disk
        path = Path(str(node))
    except TypeError:
        return None
    return path if path.is_dir() else None


def bundled_dir(name: str) -> Path:
    """The folder of bundled ``models`` or ``assets``: inside the package (wheel), else the clone's top level.

    The returned path may not exist (a broken checkout); callers report that with their own message.
    """
    if name not in ("models", "assets"):
        raise ValueError(f"unknown bundled folder {name!r}")
    return _packaged("_bundled", name) or _REPO_ROOT / name


def training_root() -> Path | None:
    """The folder that holds the ``tools`` package: ``livestyle/_train`` in a wheel, the clone's root otherwise.

    None when neither has it (an installed package built without the training side).
    """
    for root in (_packaged("_train"), _REPO_ROOT):
        if root is not None and (root / "tools" / "__init__.py").is_file():
            return root
    return None


def user_models_dirs() -> list[Path]:
    """Folders named by ``LIVESTYLE_MODELS`` (``os.pathsep``-separated), searched before the bundled models."""
    text = os.environ.get(MODELS_ENV, "")
    return [Path(p).expanduser() for p in text.split(os.pathsep) if p.strip()]


__all__ = ["MODELS_ENV", "bundled_dir", "training_root", "user_models_dirs"]
