"""Model cards: the JSON beside each ONNX file that says how to feed it (timm ``PretrainedCfg`` in spirit).

The parser never trusts the JSON: any malformed card raises ``ModelError`` with one line naming the card,
the field and what to do, and nothing else (the card parser is fuzzed).

SHA-256 policy: a mismatch is an **error** (``ModelError``) when the model file is opened
(``ModelCard.verify``), because a file that differs from its card is a half-copied download or a model
retrained without updating the card, and both give silently wrong pictures. Cards without a hash for a
precision skip the check.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livestyle.errors import ModelError

SCHEMA = 1
VARIANTS = ("lite", "full", "test")
LAYOUTS = ("NCHW", "NHWC")
COLORS = ("RGB", "BGR")
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class TensorSpec:
    """How one model input or output is laid out; ``range`` maps pixel values 0..255 onto the tensor."""

    name: str
    layout: str = "NCHW"
    color: str = "RGB"
    dtype: str = "float32"
    range: tuple[float, float] = (0.0, 255.0)


@dataclass(frozen=True)
class ModelCard:
    """A parsed, validated model card. Paths are absolute (resolved relative to the card file)."""

    name: str
    style: str
    title: str
    variant: str
    card_path: Path
    files: dict[str, Path]
    input: TensorSpec
    output: TensorSpec
    size_multiple: int = 1
    recommended_size: tuple[int, int] | None = None
    style_image: Path | None = None
    style_credit: str = ""
    sha256: dict[str, str] = field(default_factory=dict)
    license: str = ""
    architecture: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The fp32 model file (the one every card must have)."""
        return self.files["fp32"]

    def model_path(self, precision: str = "fp32") -> Path:
        """The file for ``precision``; falls back to fp32 when the card ships no such variant."""
        return self.files.get(precision, self.files["fp32"])

    def has(self, precision: str) -> bool:
        return precision in self.files

    def verify(self, precision: str = "fp32") -> Path:
        """Check that the model file exists and matches the card's sha256; return its path."""
        path = self.model_path(precision)
        if not path.is_file():
            raise ModelError(f"model file {path} named by card {self.card_path} is missing: "
                             "restore it (git checkout / git lfs pull) or retrain the model")
        key = precision if precision in self.files else "fp32"
        expected = self.sha256.get(key)
        if expected:
            digest = sha256_file(path)
            if digest != expected.lower():
                raise ModelError(f"model file {path} does not match the sha256 in {self.card_path.name} "
                                 f"({digest[:12]}... != {expected[:12]}...): re-copy the file or update the card")
        return path

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-able summary (what ``livestyle models --json`` prints)."""
        return {
            "name": self.name, "style": self.style, "title": self.title, "variant": self.variant,
            "path": str(self.path), "card": str(self.card_path),
            "files": {k: str(v) for k, v in self.files.items()},
            "size_multiple": self.size_multiple,
            "recommended_size": list(self.recommended_size) if self.recommended_size else None,
            "style_image": str(self.style_image) if self.style_image else None,
            "style_credit": self.style_credit, "license": self.license,
            "architecture": self.architecture, "training": self.training, "metrics": self.metrics,
        }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_card(path: str | Path, *, check_files: bool = True) -> ModelCard:
    """Read and validate ``path`` (a ``.json`` card, or an ``.onnx`` file with its card beside it)."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        # Say which of the two files is missing: a user who typed the .onnx path never named a card.
        if not p.is_file():
            raise ModelError(f"model file {p} not found: check the path, or use a name from `livestyle models`")
        stem = p.name[: -len(".onnx")]
        if stem.endswith(".fp16"):
            stem = stem[: -len(".fp16")]
        onnx_name, p = p.name, p.with_name(stem + ".json")
        if not p.is_file():
            raise ModelError(f"{onnx_name} has no model card beside it (expected {p}): the card says the input "
                             "layout and value range; copy the .json that came with the model")
    if not p.is_file():
        raise ModelError(f"model card {p} not found: give a models/<name>.json path or a name from `livestyle models`")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"model card {p} cannot be read ({type(exc).__name__}): check the file") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelError(f"model card {p} is not valid JSON: fix or regenerate it") from None
    card = parse_card(data, p)
    if check_files and not card.path.is_file():
        raise ModelError(f"model file {card.path} named by card {p} is missing: "
                         "restore it or retrain the model")
    return card


def parse_card(data: Any, card_path: str | Path) -> ModelCard:
    """Validate decoded card JSON; raises only ``ModelError`` whatever ``data`` is."""
    card_path = Path(card_path).resolve()
    where = card_path.name

    def fail(msg: str) -> ModelError:
        return ModelError(f"model card {where}: {msg}")

    if not isinstance(data, dict):
        raise fail("top level must be a JSON object")
    schema = data.get("schema", SCHEMA)
    if type(schema) is not int or schema != SCHEMA:
        raise fail(f"unsupported schema {_short(schema)} (this livestyle reads schema {SCHEMA})")

    name = _req_str(data, "name", fail)
    style = _opt_str(data, "style", fail, default=name)
    title = _opt_str(data, "title", fail, default=style)
    variant = _opt_str(data, "variant", fail, default="full")
    if variant not in VARIANTS:
        raise fail(f"variant {_short(variant)} must be one of {', '.join(VARIANTS)}")

    base = card_path.parent
    files_raw = data.get("files")
    if not isinstance(files_raw, dict) or "fp32" not in files_raw:
        raise fail('"files" must be an object with at least "fp32": "<name>.onnx"')
    files: dict[str, Path] = {}
    for key, rel in files_raw.items():
        if key not in PRECISIONS:
            raise fail(f'"files" key {_short(key)} must be one of {", ".join(PRECISIONS)}')
        files[key] = _rel_path(rel, base, f"files.{key}", fail)

    inp = _tensor(data.get("input"), "input", fail)
    out = _tensor(data.get("output"), "output", fail)

    multiple = data.get("size_multiple", 1)
    if type(multiple) is not int or not 1 <= multiple <= 256:
        raise fail('"size_multiple" must be an integer from 1 to 256')

    rec = data.get("recommended_size")
    recommended: tuple[int, int] | None = None
    if rec is not None:
        if (not isinstance(rec, list) or len(rec) != 2
                or not all(type(v) is int and 8 <= v <= 16384 for v in rec)):
            raise fail('"recommended_size" must be [width, height] with integers from 8 to 16384')
        recommended = (rec[0], rec[1])

    style_image = None
    if data.get("style_image") is not None:
        style_image = _rel_path(data["style_image"], base, "style_image", fail)

    sha = data.get("sha256", {})
    if sha is None:
        sha = {}
    if not isinstance(sha, dict) or not all(
            isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdefABCDEF" for c in v)
            for v in sha.values()):
        raise fail('"sha256" must map precisions to 64-hex-digit strings')

    def obj(key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail(f'"{key}" must be a JSON object')
        return value

    return ModelCard(
        name=name, style=style, title=title, variant=variant, card_path=card_path, files=files,
        input=inp, output=out, size_multiple=multiple, recommended_size=recommended, style_image=style_image,
        style_credit=_opt_str(data, "style_credit", fail, default=""),
        sha256={str(k): v.lower() for k, v in sha.items()},
        license=_opt_str(data, "license", fail, default=""),
        architecture=obj("architecture"), training=obj("training"), metrics=obj("metrics"),
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _req_str(data: dict, key: str, fail) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(f'missing or empty "{key}" (a non-empty string)')
    return value


def _opt_str(data: dict, key: str, fail, default: str) -> str:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise fail(f'"{key}" must be a string')
    return value


def _rel_path(value: Any, base: Path, key: str, fail) -> Path:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise fail(f'"{key}" must be a file name relative to the card')
    try:
        return (base / value).resolve()
    except (OSError, ValueError, RuntimeError):
        raise fail(f'"{key}" is not a usable path: {_short(value)}') from None


def _tensor(spec: Any, key: str, fail) -> TensorSpec:
    if not isinstance(spec, dict):
        raise fail(f'"{key}" must be an object like {{"name": "{key}", "layout": "NCHW", "range": [0, 255]}}')
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise fail(f'"{key}.name" must be the ONNX tensor name')
    layout = spec.get("layout", "NCHW")
    if layout not in LAYOUTS:
        raise fail(f'"{key}.layout" must be one of {", ".join(LAYOUTS)}')
    color = spec.get("color", "RGB")
    if color not in COLORS:
        raise fail(f'"{key}.color" must be one of {", ".join(COLORS)}')
    dtype = spec.get("dtype", "float32")
    if dtype != "float32":
        raise fail(f'"{key}.dtype" must be "float32" (fp16 variants keep float32 inputs and outputs)')
    rng = spec.get("range", [0, 255])
    if (not isinstance(rng, list) or len(rng) != 2
            or not all(type(v) in (int, float) and math.isfinite(v) and abs(v) < 1e6 for v in rng)
            or not rng[0] < rng[1]):
        raise fail(f'"{key}.range" must be [low, high] numbers with low < high, e.g. [0, 255]')
    return TensorSpec(name=name, layout=layout, color=color, dtype=dtype, range=(float(rng[0]), float(rng[1])))
