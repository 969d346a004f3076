"""The table of models: the CLI's ``--model`` choices and ``livestyle models`` come from here.

Models are looked up in a search path: folders given with ``--models-dir`` (:func:`use_models_dirs`), then the
folders in ``LIVESTYLE_MODELS``, then the bundled models (inside the installed package, or the clone's
``models/``; see ``livestyle.resources``). A user model with a bundled model's name takes its place.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from livestyle.errors import ModelError
from livestyle.resources import MODELS_ENV, bundled_dir, user_models_dirs
from livestyle.stylize.card import ModelCard, load_card

log = logging.getLogger(__name__)

MODELS_DIR = bundled_dir("models")
PREFERRED_DEFAULT = "starry_night-lite"
_extra_dirs: list[Path] = []
_warned: set[Path] = set()


def use_models_dirs(dirs: list[str | Path]) -> None:
    """Search ``dirs`` (``--models-dir``) before ``LIVESTYLE_MODELS`` and the bundled models; each must exist."""
    folders = [Path(d).expanduser() for d in dirs]
    for folder in folders:
        if not folder.is_dir():
            raise ModelError(f"--models-dir {folder} is not a folder: create it and put <name>.onnx + <name>.json "
                             "there, or drop the option")
    _extra_dirs[:] = folders


def search_path(models_dir: str | Path | None = None) -> list[Path]:
    """The folders searched for models, first match wins: ``models_dir`` alone when given, else the full path."""
    if models_dir is not None:
        return [Path(models_dir)]
    env_dirs = []
    for folder in user_models_dirs():
        if folder.is_dir():
            env_dirs.append(folder)
        elif folder not in _warned:  # once per folder, not once per lookup
            _warned.add(folder)
            log.warning("%s names %s, which is not a folder: ignored", MODELS_ENV, folder)
    return [*_extra_dirs, *env_dirs, MODELS_DIR]


def list_models(models_dir: str | Path | None = None) -> list[ModelCard]:
    """Every valid card on the search path (or in ``models_dir`` only), sorted by name, first of a name wins.

    A broken card is logged and skipped so one bad file does not hide the others; ``find_model`` on that
    name still raises its ``ModelError``.
    """
    found: dict[str, ModelCard] = {}
    for folder in search_path(models_dir):
        for card in _cards_in(folder):
            found.setdefault(card.name, card)
    return sorted(found.values(), key=lambda c: c.name)


def _cards_in(folder: Path) -> list[ModelCard]:
    if not folder.is_dir():
        return []
    cards = []
    for path in sorted(folder.glob("*.json")):
        if not _is_style_card(path):
            continue
        try:
            cards.append(load_card(path))
        except ModelError as exc:
            log.warning("skipping %s", exc)
    return cards


def _is_style_card(path: Path) -> bool:
    """Other model kinds (e.g. the segmentation card, ``"kind": "segmentation"``) share models/: skip them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return True  # let load_card report it
    return not (isinstance(data, dict) and data.get("kind", "style") != "style")


def find_model(name_or_path: str | Path, models_dir: str | Path | None = None) -> ModelCard:
    """A card by name (``starry_night-lite``) from the search path, or by path to a ``.json`` card / ``.onnx`` file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".json", ".onnx") or path.exists():
        return load_card(path)
    folders = search_path(models_dir)
    for folder in folders:
        candidate = folder / f"{text}.json"
        if candidate.is_file():
            return load_card(candidate)
    names = [c.name for c in list_models(models_dir)]
    hint = f"one of: {', '.join(names)}" if names else f"no models found in {_where(folders)}"
    raise ModelError(f"unknown model {text!r}: use {hint}, or a path to a .json card / .onnx file")


def default_model(models_dir: str | Path | None = None) -> ModelCard:
    """``starry_night-lite`` if found, else the first lite model, else a ``ModelError`` saying what to do."""
    cards = list_models(models_dir)
    for card in cards:
        if card.name == PREFERRED_DEFAULT:
            return card
    for card in cards:
        if card.variant == "lite":
            return card
    raise ModelError(f"no lite model found in {_where(search_path(models_dir))}: train and export one "
                     "(see README 'Train your own style') or pass --model PATH")


def _where(folders: list[Path]) -> str:
    return ", ".join(str(f) for f in folders)
