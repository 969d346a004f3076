"""The table of bundled models: the CLI's ``--model`` choices and ``livestyle models`` come from here."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from livestyle.errors import ModelError
from livestyle.stylize.card import ModelCard, load_card

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
PREFERRED_DEFAULT = "starry_night-lite"


def list_models(models_dir: str | Path | None = None) -> list[ModelCard]:
    """Every valid card in ``models_dir`` (default: the repo's models/), sorted by name.

    A broken card is logged and skipped so one bad file does not hide the others; ``find_model`` on that
    name still raises its ``ModelError``.
    """
    folder = Path(models_dir) if models_dir is not None else MODELS_DIR
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
    return sorted(cards, key=lambda c: c.name)


def _is_style_card(path: Path) -> bool:
    """Other model kinds (e.g. the segmentation card, ``"kind": "segmentation"``) share models/: skip them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return True  # let load_card report it
    return not (isinstance(data, dict) and data.get("kind", "style") != "style")


def find_model(name_or_path: str | Path, models_dir: str | Path | None = None) -> ModelCard:
    """A card by bundled name (``starry_night-lite``) or by path to a ``.json`` card or ``.onnx`` file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".json", ".onnx") or path.exists():
        return load_card(path)
    folder = Path(models_dir) if models_dir is not None else MODELS_DIR
    candidate = folder / f"{text}.json"
    if candidate.is_file():
        return load_card(candidate)
    names = [c.name for c in list_models(folder)]
    hint = f"one of: {', '.join(names)}" if names else f"no models found in {folder}"
    raise ModelError(f"unknown model {text!r}: use {hint}, or a path to a .json card / .onnx file")


def default_model(models_dir: str | Path | None = None) -> ModelCard:
    """``starry_night-lite`` if bundled, else the first lite model, else a ``ModelError`` saying what to do."""
    cards = list_models(models_dir)
    for card in cards:
        if card.name == PREFERRED_DEFAULT:
            return card
    for card in cards:
        if card.variant == "lite":
            return card
    folder = Path(models_dir) if models_dir is not None else MODELS_DIR
    raise ModelError(f"no lite model found in {folder}: train and export one (see README 'Train a style') "
                     "or pass --model PATH")
