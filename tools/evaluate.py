"""Measured quality of the shipped style models (issue 4): VGG losses against the Gatys optimum, and stability.

    .venv/bin/python -m tools.evaluate                       # every style model in models/, table to stdout
    .venv/bin/python -m tools.evaluate --models starry_night-lite --gatys-iters 100 --gatys-photos 2
    .venv/bin/python -m tools.evaluate --precompute-gatys --recipe-card models/starry_night-lite.json \
        --styles starry_night great_wave                     # warm the Gatys cache before the models exist

For each model, on the held-out photos of :mod:`tools.splits` at 512 px (longer side):

- the style distance to the model's style image, the content distance to the photo and the weighted total
  (content_weight * content + style_weight * style + tv_weight * tv) of the model's output, computed with the
  trainer's own :class:`tools.perceptual.PerceptualLoss` (layers, weights and style size read from the card's
  ``training.recipe``), the model run through ONNX Runtime from the shipped fp32 file;
- the same figures for the Gatys optimum of *the same loss* (:func:`tools.gatys.stylize_image` from the
  photo), on a fixed subset of photos because each optimisation costs minutes on a CPU; the ratio of total losses
  (model / Gatys) is computed on that subset. Gatys results are cached as PNG under ``runs/eval/gatys/<key>.png``
  where the key hashes everything the optimum depends on, so reruns are free and a changed recipe recomputes;
- the warping error (Lai et al. 2018, :func:`livestyle.temporal.metrics.warping_error`) of the per-frame output
  and of the temporally blended output (:class:`livestyle.temporal.TemporalBlender`, default settings) on one real
  clip, the stylizer running at the card's recommended size as the product does;
- blob artefacts (:mod:`tools.artefacts`): connected near-white / near-black / saturated-colour regions of the
  output that the photo does not have, and the same scattered as tiny dots, per held-out photo; a model whose worst
  photo's blob area exceeds :data:`tools.artefacts.MAX_BLOB_AREA`, or its dot area
  :data:`tools.artefacts.MAX_DOT_AREA`, is flagged in the table and the command exits with status 1.

Both sides are scored from uint8 images, so PNG quantisation affects them equally.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from livestyle.errors import ConfigError, LivestyleError, ModelError, SourceError
from livestyle.stylize.card import ModelCard
from livestyle.stylize.registry import MODELS_DIR, find_model, list_models

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LIVESTYLE_DATA", ROOT.parent / "shared" / "data"))
RUNS = ROOT / "runs" / "eval"

#: Photos the Gatys reference is computed on (the first ``--gatys-photos`` of them): one Kodak landscape-ish
#: close-up, one COCO indoor scene with people, one Kodak portrait; all three are in tools.splits.HELD_OUT.
GATYS_SUBSET: tuple[str, ...] = (
    "kodak24/kodim23.png",
    "coco_permissive/val2017_000000397133.jpg",
    "kodak24/kodim15.png",
)
DEFAULT_CLIP = "davis/blackswan"
BLOB_CHECK = "inverted-saturation-v5-dots"  # part of the per-model cache key: bump when tools.artefacts changes
TARGETS = {"full": 2.0, "lite": 1.6}  # issue 11 (issue 4 had 1.5 and 2.0)


# -- the loss -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LossSpec:
    """The perceptual-loss settings a model was trained with (and is therefore judged by).

    ``source`` says where they came from: ``card`` (the card's ``training.recipe``) or ``defaults`` (the card
    records no recipe, so :class:`~tools.perceptual.PerceptualLoss`'s defaults are used).
    """

    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    content_weight: float
    style_weight: float
    tv_weight: float
    style_size: int | None
    pooling: str = "max"
    source: str = "defaults"

    @classmethod
    def defaults(cls) -> "LossSpec":
        from tools.perceptual import LossConfig

        d = LossConfig()
        return cls(tuple(d.content_layers), tuple(d.style_layers), d.content_weight, d.style_weight,
                   d.tv_weight, None, d.pooling, "defaults")

    @classmethod
    def from_recipe(cls, recipe: Any) -> "LossSpec":
        """From a card's ``training.recipe`` (tools.export), falling back to the defaults key by key."""
        d = cls.defaults()
        if not isinstance(recipe, dict) or not recipe:  # absent, or a prose recipe (e.g. the tiny test model)
            return d

        def layers(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            v = recipe.get(key)
            if v is None:
                return default
            return tuple(s for s in v.split(",") if s) if isinstance(v, str) else tuple(v)

        def num(key: str, default: float) -> float:
            v = recipe.get(key)
            return default if v is None else float(v)

        size = recipe.get("style_size")
        return cls(layers("content_layers", d.content_layers), layers("style_layers", d.style_layers),
                   num("content_weight", d.content_weight), num("style_weight", d.style_weight),
                   num("tv_weight", d.tv_weight), int(size) if size else None, d.pooling, "card")

    @classmethod
    def from_card(cls, card: ModelCard) -> "LossSpec":
        return cls.from_recipe((card.training or {}).get("recipe"))

    def key(self) -> dict[str, Any]:
        """What the loss value depends on (``source`` excluded: the same numbers give the same loss)."""
        d = asdict(self)
        d.pop("source")
        return d


def build_loss(spec: LossSpec, style_image: np.ndarray) -> Any:
    """The trainer's PerceptualLoss for ``spec`` against one RGB uint8 style image."""
    from tools.images import to_tensor
    from tools.perceptual import PerceptualLoss

    return PerceptualLoss([to_tensor(style_image)], content_layers=spec.content_layers, style_layers=spec.style_layers,
                          content_weight=spec.content_weight, style_weight=spec.style_weight,
                          tv_weight=spec.tv_weight, pooling=spec.pooling, style_size=spec.style_size)


def loss_terms(loss: Any, output: np.ndarray, photo: np.ndarray) -> dict[str, float]:
    """Unweighted style / content / tv distances of ``output`` (RGB uint8) and the weighted total, as trained."""
    import torch

    from tools.images import to_tensor

    if output.shape != photo.shape:
        raise ValueError(f"output {output.shape} and photo {photo.shape} differ in size")
    with torch.no_grad():
        t = loss(to_tensor(output), content=to_tensor(photo))
    return {k: float(v) for k, v in t.items()}


def total_ratio(model: Sequence[dict[str, float]], gatys: Sequence[dict[str, float]]) -> float:
    """Ratio of summed total losses (model / Gatys) over the same photos: 1 means as good as the optimum."""
    if len(model) != len(gatys) or not model:
        raise ValueError(f"need the same non-zero number of model and Gatys results, got {len(model)} and {len(gatys)}")
    g = sum(t["total"] for t in gatys)
    if g <= 0:
        raise ValueError("Gatys total loss is not positive: cannot form a ratio")
    return sum(t["total"] for t in model) / g


def mean_terms(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else ()
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


# -- inputs ---------------------------------------------------------------------------------------------------

def load_photo(path: str | Path, longest: int = 512, multiple: int = 4) -> np.ndarray:
    """RGB uint8 photo, longer side ``longest``, both sides a multiple of ``multiple`` (so no model padding)."""
    from tools.images import fit_size, load_rgb

    img = load_rgb(path)
    h, w = img.shape[:2]
    nw, nh = fit_size(w, h, longest, multiple)
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if nw < w else cv2.INTER_LINEAR)


def photo_paths(names: Sequence[str], root: Path = DATA / "photos") -> list[Path]:
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise SourceError(f"held-out photos missing under {root}: {', '.join(missing)} (set LIVESTYLE_DATA)")
    return [root / n for n in names]


def load_clip(spec: str, frames: int, width: int = 640) -> list[np.ndarray]:
    """The first ``frames`` RGB frames of ``DATA/videos/<spec>`` (folder of images or a video file), ``width`` wide."""
    path = Path(spec) if Path(spec).exists() else DATA / "videos" / spec
    out: list[np.ndarray] = []
    if path.is_dir():
        files = sorted(glob.glob(str(path / "*.jpg")) + glob.glob(str(path / "*.png")))[:frames]
        out = [cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB) for f in files]
    elif path.is_file():
        cap = cv2.VideoCapture(str(path))
        while len(out) < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
    if len(out) < 2:
        raise SourceError(f"clip {path} has fewer than 2 readable frames: give a folder of frames or a video file")
    h, w = out[0].shape[:2]
    size = (width, int(round(h * width / w / 2)) * 2)
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in out]


# -- the two sides --------------------------------------------------------------------------------------------

def stylize_native(card: ModelCard, photo: np.ndarray) -> np.ndarray:
    """The model's fp32 ONNX output at the photo's own size (no resampling; sides must fit size_multiple)."""
    from livestyle.stylize.stylizer import Stylizer

    h, w = photo.shape[:2]
    st = Stylizer(card, device="cpu", size=(w, h), threads=1, precision="fp32")
    return st(photo)


def stylize_product(card: ModelCard, photo: np.ndarray, scale: float | None = None) -> np.ndarray:
    """The model's fp32 ONNX output as ``livestyle stylize`` makes it: the network at the card's recommended size
    (e.g. 320x240 for lite models), or at ``scale`` x the photo's size as ``--scale`` asks (the speed option for
    slow CPUs), guided upsampling back to the photo's size."""
    from livestyle.stylize.stylizer import Stylizer

    return Stylizer(card, device="cpu", scale=scale, threads=1, precision="fp32")(photo)


HALF_SIZE_BUDGET = (320, 240)  # the half-size lite models' recommended size: the pixels their net runs on


def stylize_resampled(card: ModelCard, photo: np.ndarray, budget: tuple[int, int] = HALF_SIZE_BUDGET) -> np.ndarray:
    """The model's native output shrunk to the half-size lite path's pixel budget and guided-upsampled back.

    What the half-size path alone costs: run on a full model, it shows how much of its quality survives that path
    (docs/TRAINING.md, "full-resolution lite")."""
    from livestyle.stylize.stylizer import budget_size
    from livestyle.stylize.upsample import detail_upsample

    h, w = photo.shape[:2]
    native = stylize_native(card, photo)
    if w * h <= math.prod(budget):
        return native
    low = cv2.resize(native, budget_size(w, h, budget, 4), interpolation=cv2.INTER_AREA)
    return detail_upsample(low, photo)


STYLIZE_PATHS = {"native": stylize_native, "product": stylize_product, "resampled": stylize_resampled}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gatys_key(spec: LossSpec, style_image: np.ndarray, photo: np.ndarray, iters: int, optimizer: str = "adam",
              lr: float = 5.0) -> str:
    """Cache key of one Gatys optimum: the loss settings, the exact style and photo pixels, the optimiser."""
    meta = json.dumps({"loss": spec.key(), "iters": iters, "optimizer": optimizer, "init": "content",
                       **({"lr": lr} if optimizer == "adam" else {}),
                       "style": _sha(style_image.tobytes()) + str(style_image.shape),
                       "photo": _sha(photo.tobytes()) + str(photo.shape)}, sort_keys=True)
    return _sha(meta.encode())[:20]


def gatys_reference(spec: LossSpec, style_image: np.ndarray, photo: np.ndarray, iters: int,
                    cache_dir: Path = RUNS / "gatys", *, optimizer: str = "adam", lr: float = 5.0, loss: Any = None,
                    label: str = "") -> np.ndarray:
    """The Gatys optimum of ``spec``'s loss for ``photo`` (RGB uint8), from the cache or optimised now (1 thread).

    Adam (lr 5 pixel units) by default: tools.gatys's L-BFGS (one evaluation per step, no line search) did not
    move in 100 iterations at 512 px with the trainer's loss (measured on kodim23 + Starry Night: total 13.6815 ->
    13.6814), most likely because the relative distances give tiny per-pixel gradients and torch's L-BFGS scales
    its first steps by them; Adam is invariant to that scale, and at 256 px, where L-BFGS works, Adam lr 5 ends
    within a few % of it (docs/gatys_lbfgs_vs_adam.png).
    """
    from tools.images import load_rgb, save_rgb, to_tensor

    key = gatys_key(spec, style_image, photo, iters, optimizer, lr)
    png = Path(cache_dir) / f"{key}.png"
    if png.is_file():
        return load_rgb(png)
    import torch

    from tools.gatys import GatysConfig, stylize_image, write_log

    torch.set_num_threads(1)
    loss = loss if loss is not None else build_loss(spec, style_image)
    config = GatysConfig(size=None, iters=iters, optimizer=optimizer, lr=lr, init="content", scales=1,
                         content_weight=spec.content_weight, style_weight=spec.style_weight, tv_weight=spec.tv_weight,
                         content_layers=spec.content_layers, style_layers=spec.style_layers, pooling=spec.pooling)
    t0 = time.perf_counter()
    res = stylize_image(to_tensor(photo), [to_tensor(style_image)], config, loss=loss, progress=False, distances=False)
    hist = res.history
    write_log(hist, png.with_suffix(".csv"))
    save_rgb(res.image, png)
    (png.with_suffix(".json")).write_text(json.dumps({
        "label": label, "iters": iters, "optimizer": optimizer, "lr": lr, "seconds": round(time.perf_counter() - t0, 1), "loss": spec.key(),
        "total_first": hist[0]["total"], "total_last": hist[-1]["total"],
        "total_at_80pct": hist[int(0.8 * len(hist)) - 1]["total"] if len(hist) >= 5 else None,
    }, indent=1) + "\n")
    return load_rgb(png)


def warping_errors(card: ModelCard, frames: Sequence[np.ndarray], flows: Sequence | None = None,
                   threads: int = 1, scale: float | None = None) -> dict[str, float]:
    """Warping error of the per-frame and of the blended output on ``frames`` (and of the input, for scale), the
    stylizer run as the product runs it (at ``scale`` x the frame size when given)."""
    from livestyle.stylize.stylizer import Stylizer
    from livestyle.temporal import TemporalBlender, TemporalConfig
    from livestyle.temporal.metrics import reference_flows, warping_error

    flows = list(flows) if flows is not None else reference_flows(list(frames))
    st = Stylizer(card, device="cpu", scale=scale, threads=threads, precision="fp32")
    blender = TemporalBlender(TemporalConfig())
    per_frame, blended = [], []
    for f in frames:
        s = st(f)
        per_frame.append(s)
        blended.append(blender(f, s))
    return {"per_frame": warping_error(per_frame, flows), "blended": warping_error(blended, flows),
            "input": warping_error(list(frames), flows)}


# -- one model ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalSettings:
    size: int = 512
    photos: tuple[str, ...] = ()
    gatys_photos: tuple[str, ...] = GATYS_SUBSET[:2]
    gatys_iters: int = 100
    gatys_optimizer: str = "adam"
    gatys_lr: float = 5.0
    clip: str = DEFAULT_CLIP
    clip_frames: int = 30
    clip_width: int = 640
    path: str = "native"  # or "product": the network at the card's recommended size + guided upsampling;
    # "resampled": the native output through the half-size path's resampling (stylize_resampled)
    scale: float | None = None  # product path only: the network at scale x the photo's size (livestyle --scale)

    def __post_init__(self) -> None:
        if self.path not in STYLIZE_PATHS:
            raise ConfigError(f"path must be one of {', '.join(STYLIZE_PATHS)}, got {self.path!r}")
        if self.scale is not None:
            from livestyle.stylize.stylizer import check_processing_options

            if self.path != "product":
                raise ConfigError("--scale needs --path product (it is the product's processing scale)")
            check_processing_options(None, self.scale, "guided")  # the range livestyle --scale accepts

    def stylize(self, card: ModelCard, photo: np.ndarray) -> np.ndarray:
        """The model's output on ``photo`` along this evaluation's path."""
        if self.scale is not None:
            return stylize_product(card, photo, self.scale)
        return STYLIZE_PATHS[self.path](card, photo)

    def key(self) -> str:
        return _sha(json.dumps(asdict(self), sort_keys=True).encode())[:12]


def style_image_of(card: ModelCard) -> np.ndarray:
    from tools.images import load_rgb

    if card.style_image is None or not card.style_image.is_file():
        raise ModelError(f"card {card.card_path.name} names no readable style_image: cannot measure style distance")
    return load_rgb(card.style_image)


def model_side(card: ModelCard, settings: EvalSettings, *, cache_dir: Path = RUNS,
               clip: tuple[list[np.ndarray], list | None] | None = None, log=print) -> dict[str, Any]:
    """The model's own figures: losses on every evaluation photo (and on the Gatys subset) and warping errors.

    Cached under ``cache_dir/models`` by model sha256, the settings that affect them and the loss.
    """
    card.verify("fp32")
    spec = LossSpec.from_card(card)
    sha = card.sha256.get("fp32") or _sha(card.path.read_bytes())
    keyed = {k: v for k, v in asdict(settings).items() if not k.startswith("gatys_") or k == "gatys_photos"}
    if settings.scale is None:
        keyed.pop("scale")  # the key of every evaluation made before --scale existed stays valid
    key = _sha(json.dumps([keyed, spec.key(), BLOB_CHECK], sort_keys=True).encode())[:12]
    cached = Path(cache_dir) / "models" / f"{card.name}-{sha[:12]}-{key}.json"
    if cached.is_file():
        side = json.loads(cached.read_text())
        if "artefacts" in side:  # older cache entries lack the blob check: recompute them
            return side
    import torch

    from tools.artefacts import find_blobs

    torch.set_num_threads(1)
    loss = build_loss(spec, style_image_of(card))
    model_rows, photo_rows, blobs = {}, {}, {}
    t0 = time.perf_counter()
    names = list(dict.fromkeys(settings.photos + settings.gatys_photos))
    for rel, path in zip(names, photo_paths(names)):
        photo = load_photo(path, settings.size, card.size_multiple)
        out = settings.stylize(card, photo)
        model_rows[rel] = loss_terms(loss, out, photo)
        blobs[rel] = find_blobs(out, photo).to_dict()
        photo_rows[rel] = loss_terms(loss, photo, photo)
    log(f"{card.name}: losses on {len(model_rows)} photos in {time.perf_counter() - t0:.0f} s")
    frames, flows = clip if clip is not None else _clip(settings)
    t1 = time.perf_counter()
    warp = warping_errors(card, frames, flows, scale=settings.scale)
    log(f"{card.name}: warping error per-frame {warp['per_frame']:.5f} blended {warp['blended']:.5f} "
        f"({time.perf_counter() - t1:.0f} s)")
    side = {"name": card.name, "sha256_fp32": sha, "loss": {**spec.key(), "source": spec.source},
            "model": model_rows, "photo": photo_rows, "artefacts": blobs,
            "warping_error": {"clip": settings.clip, "frames": len(frames), "width": frames[0].shape[1],
                              "temporal": "TemporalConfig() defaults", **warp}}
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(side, indent=1) + "\n")
    return json.loads(cached.read_text())  # the same plain-JSON form a cache hit returns


def evaluate_model(card: ModelCard, settings: EvalSettings, *, cache_dir: Path = RUNS,
                   clip: tuple[list[np.ndarray], list | None] | None = None, gatys: str = "compute",
                   log=print, refs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every figure for one model. ``gatys="cached"`` uses only Gatys references already in the cache (the
    ratio is then over the subset photos that have one, listed in the result; None when there are none)."""
    if gatys not in ("compute", "cached", "refs"):
        raise ValueError(f"gatys must be compute, cached or refs, got {gatys!r}")
    side = model_side(card, settings, cache_dir=cache_dir, clip=clip, log=log)
    spec = LossSpec.from_card(card)
    style = style_image_of(card)
    loss = None
    gatys_rows = {}
    ref = find_gatys_ref(refs or {}, card.style, spec, settings) if gatys == "refs" else None
    if gatys == "refs" and ref is None:
        log(f"{card.name}: no recorded Gatys reference for this style, loss and subset: no ratio")
    for rel, path in zip(settings.gatys_photos if gatys != "refs" else (), photo_paths(settings.gatys_photos)):
        photo = load_photo(path, settings.size, card.size_multiple)
        key = gatys_key(spec, style, photo, settings.gatys_iters, settings.gatys_optimizer, settings.gatys_lr)
        if gatys == "cached" and not (Path(cache_dir) / "gatys" / f"{key}.png").is_file():
            log(f"{card.name}: no cached Gatys reference for {rel}: left out of the ratio")
            continue
        loss = loss if loss is not None else build_loss(spec, style)
        t1 = time.perf_counter()
        g = gatys_reference(spec, style, photo, settings.gatys_iters, Path(cache_dir) / "gatys", loss=loss,
                            optimizer=settings.gatys_optimizer, lr=settings.gatys_lr, label=f"{card.style} {rel}")
        gatys_rows[rel] = loss_terms(loss, g, photo)
        log(f"{card.name}: Gatys {rel} ({time.perf_counter() - t1:.0f} s) total {gatys_rows[rel]['total']:.4g}"
            f" vs model {side['model'][rel]['total']:.4g}")
    model_rows = side["model"]
    arte = artefact_summary({p: side["artefacts"][p] for p in settings.photos})
    if arte["flagged"]:
        log(f"{card.name}: BLOB ARTEFACTS: blobs up to {arte['max_area'] * 100:.2f} % of the picture "
            f"({arte['worst_photo']}; limit {arte['limit'] * 100:.2f} %), dots up to "
            f"{arte['max_dot_area'] * 100:.2f} % ({arte['worst_dot_photo']}; limit {arte['dot_limit'] * 100:.2f} %)")
    subset_model = [model_rows[p] for p in gatys_rows]
    ratio = total_ratio(subset_model, list(gatys_rows.values())) if gatys_rows else None
    gatys_mean = mean_terms(list(gatys_rows.values())) if gatys_rows else None
    gatys_photos = list(gatys_rows)
    if ref is not None:  # the optimum's mean figures as recorded earlier: the ratio of means over the same photos
        gatys_photos = list(ref["photos"])
        subset_model = [model_rows[p] for p in gatys_photos]
        gatys_mean = {"style": ref["style"], "content": ref["content"], "total": ref["total"]}
        ratio = mean_terms(subset_model)["total"] / ref["total"]
    return {
        "model": card.name, "style": card.style, "variant": card.variant, "sha256_fp32": side["sha256_fp32"],
        "params": (card.architecture or {}).get("params"),
        "loss": side["loss"],
        "eval_size": settings.size,
        "model_mean": mean_terms([model_rows[p] for p in settings.photos]),
        "photo_mean": mean_terms([side["photo"][p] for p in settings.photos]),
        "photos": list(settings.photos),
        "gatys": {"photos": gatys_photos, "iters": settings.gatys_iters,
                  "optimizer": settings.gatys_optimizer, "lr": settings.gatys_lr, "init": "content",
                  "model_mean": mean_terms(subset_model) if subset_model else None,
                  "gatys_mean": gatys_mean, "source": ref["source"] if ref else "computed"},
        "total_ratio": ratio, "target_ratio": TARGETS.get(card.variant),
        "per_photo": {"model": {p: model_rows[p] for p in settings.photos}, "gatys": gatys_rows},
        "warping_error": side["warping_error"],
        "artefacts": arte,
        "settings": asdict(settings),
    }


def artefact_summary(per_photo: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Blob figures of one model over the held-out photos: the worst photo decides (``flagged``)."""
    from tools.artefacts import MAX_BLOB_AREA, MAX_DOT_AREA, flagged

    worst = max(per_photo, key=lambda p: per_photo[p]["area"])
    dotted = max(per_photo, key=lambda p: per_photo[p].get("dot_area", 0.0))
    return {"check": "tools.artefacts.find_blobs (saturated regions and tiny dots the photo does not explain)",
            "limit": MAX_BLOB_AREA, "max_area": per_photo[worst]["area"], "worst_photo": worst,
            "dot_limit": MAX_DOT_AREA, "max_dot_area": per_photo[dotted].get("dot_area", 0.0),
            "worst_dot_photo": dotted,
            "mean_area": float(np.mean([r["area"] for r in per_photo.values()])),
            "photos_with_blobs": sum(r["count"] > 0 for r in per_photo.values()),
            "flagged": flagged(list(per_photo.values())), "per_photo": per_photo}


def gatys_refs_from_cards(cards: Sequence[ModelCard]) -> dict[str, Any]:
    """The Gatys optima's mean figures recorded in cards' metrics, keyed by style + loss + subset + optimiser, so
    a retrained model can be compared with them after the cached PNGs are gone (``--gatys refs``)."""
    refs: dict[str, Any] = {}
    for c in cards:
        m = c.metrics or {}
        g, loss = m.get("gatys") or {}, m.get("loss")
        if not g.get("total_loss") or not loss:
            continue
        key = _ref_key(c.style, {k: v for k, v in loss.items() if k != "source"}, g["photos"], g["iters"],
                       g["optimizer"], g.get("lr"))
        refs[key] = {"photos": g["photos"], "style": g["style_distance"], "content": g["content_distance"],
                     "total": g["total_loss"], "source": f"{c.name} card metrics ({m.get('evaluated_with', '')})"}
    return refs


def _ref_key(style: str, loss: dict[str, Any], photos: Sequence[str], iters: int, optimizer: str,
             lr: float | None) -> str:
    loss = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in loss.items()}
    return _sha(json.dumps([style, loss, list(photos), iters, optimizer, lr], sort_keys=True).encode())[:16]


def find_gatys_ref(refs: dict[str, Any], style: str, spec: LossSpec, settings: EvalSettings) -> dict[str, Any] | None:
    key = _ref_key(style, spec.key(), settings.gatys_photos, settings.gatys_iters, settings.gatys_optimizer,
                   settings.gatys_lr)
    return refs.get(key)


_CLIP_CACHE: dict[tuple, tuple[list[np.ndarray], list]] = {}


def _clip(settings: EvalSettings) -> tuple[list[np.ndarray], list]:
    from livestyle.temporal.metrics import reference_flows

    k = (settings.clip, settings.clip_frames, settings.clip_width)
    if k not in _CLIP_CACHE:
        frames = load_clip(settings.clip, settings.clip_frames, settings.clip_width)
        _CLIP_CACHE[k] = (frames, reference_flows(frames))
    return _CLIP_CACHE[k]


# -- reporting ------------------------------------------------------------------------------------------------

def card_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The compact ``metrics`` section for a model card."""
    g = result["gatys"]
    w = result["warping_error"]

    def r4(x: float | None) -> float | None:
        return None if x is None else float(f"{x:.4g}")

    gm, mm = g["gatys_mean"] or {}, g["model_mean"] or {}
    return {
        "evaluated_with": "python -m tools.evaluate (command and notes in docs/QUALITY.md)",
        "eval_size": result["eval_size"],
        "path": path_label(result["settings"]),
        "loss": result["loss"],
        "heldout_photos": len(result["photos"]),
        "style_distance": r4(result["model_mean"]["style"]),
        "content_distance": r4(result["model_mean"]["content"]),
        "total_loss": r4(result["model_mean"]["total"]),
        "photo_total_loss": r4(result["photo_mean"]["total"]),
        "gatys": {"photos": g["photos"], "iters": g["iters"], "optimizer": g["optimizer"], "lr": g.get("lr"),
                  "source": g.get("source", "computed"),
                  "style_distance": r4(gm.get("style")), "content_distance": r4(gm.get("content")),
                  "total_loss": r4(gm.get("total")), "model_total_loss": r4(mm.get("total"))},
        "total_ratio_vs_gatys": r4(result["total_ratio"]),
        "target_ratio": result["target_ratio"],
        "warping_error": {"clip": w["clip"], "frames": w["frames"], "width": w["width"],
                          "per_frame": r4(w["per_frame"]), "blended": r4(w["blended"]), "input": r4(w["input"])},
        "artefacts": {k: (r4(v) if isinstance(v, float) else v) for k, v in result["artefacts"].items()
                      if k != "per_photo"},
    }


def path_label(settings: dict[str, Any]) -> str:
    """How a result's model was run ("product", "product @ scale 0.5"), from its recorded settings."""
    path, scale = settings.get("path", "native"), settings.get("scale")
    return path if scale is None else f"{path} @ scale {scale:g}"


def markdown_table(results: Sequence[dict[str, Any]]) -> str:
    """The quality table (one row per model). Distances are means over the held-out photos; the ratio is over
    the Gatys subset (its size in the "n" column); warping errors are x 1000 on a 0..1 pixel scale."""
    head = ("| model | run as | params | style dist. | content dist. | total | total on subset: model / Gatys | n "
            "| ratio (target) | warp err. per-frame | warp err. blended | blobs / dots: max area (limit) |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for r in results:
        g = r["gatys"]
        w = r["warping_error"]
        target, ratio = r["target_ratio"], r["total_ratio"]
        params = f"{r['params'] / 1e3:.0f} k" if r.get("params") else "?"
        if ratio is None:
            subset, shown = "-", "not measured"
        else:
            ok = "" if target is None else (" ✓" if ratio <= target else " ✗")
            subset = f"{g['model_mean']['total']:.3f} / {g['gatys_mean']['total']:.3f}"
            shown = f"**{ratio:.2f}** ({target if target is not None else '-'}){ok}"
        rows.append(
            f"| {r['model']} | {path_label(r.get('settings', {}))} | {params} | {r['model_mean']['style']:.4f} | {r['model_mean']['content']:.3f} "
            f"| {r['model_mean']['total']:.3f} | {subset} | {len(g['photos'])} | {shown} "
            f"| {w['per_frame'] * 1e3:.2f} | {w['blended'] * 1e3:.2f} | {_blob_cell(r.get('artefacts'))} |")
    return head + "\n" + "\n".join(rows)


def _blob_cell(a: dict[str, Any] | None) -> str:
    if not a:
        return "-"
    dots = f" / {a['max_dot_area'] * 100:.2f} % ({a['dot_limit'] * 100:.2f})" if "max_dot_area" in a else ""
    return f"{a['max_area'] * 100:.2f} % ({a['limit'] * 100:.2f}){dots}{' ✗ blobs' if a['flagged'] else ' ✓'}"


def set_card_metrics(card_path: str | Path, metrics: dict[str, Any]) -> None:
    """Replace only the card's ``metrics`` value; every other byte stays as tools.export wrote it.

    The card is re-serialised the way tools.export writes it (json, indent 2, trailing newline); if the file on
    disk is not in that form, editing it would change other bytes, so this refuses instead.
    """
    path = Path(card_path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    if json.dumps(data, indent=2) + "\n" != text:
        raise ModelError(f"{path} is not formatted as tools.export writes cards: not editing it (re-export it)")
    data["metrics"] = metrics
    new = json.dumps(data, indent=2) + "\n"
    old_rest = {k: v for k, v in json.loads(text).items() if k != "metrics"}
    if {k: v for k, v in json.loads(new).items() if k != "metrics"} != old_rest:  # pragma: no cover - defensive
        raise ModelError(f"editing the metrics of {path} would change other keys")
    path.write_text(new, encoding="utf-8")


# -- command line ---------------------------------------------------------------------------------------------

def style_models(names: Sequence[str] | None) -> list[ModelCard]:
    if names:
        return [find_model(n) for n in names]
    return [c for c in list_models() if c.variant in ("lite", "full")]


def precompute_gatys(recipe_card: Path, styles: Sequence[str], settings: EvalSettings, cache_dir: Path,
                     log=print) -> None:
    """Warm the Gatys cache for ``styles`` (style images from DATA/styles) with ``recipe_card``'s loss settings.

    Photo-major order (every style's first photo, then every style's second...), so a run cut short still covers
    every style. Hits the same cache entries as the evaluation when the shipped cards carry the same recipe.
    """
    from tools.images import load_rgb

    spec = LossSpec.from_recipe(json.loads(Path(recipe_card).read_text()).get("training", {}).get("recipe"))
    style_imgs = {}
    for s in styles:
        found = sorted(glob.glob(str(DATA / "styles" / f"{s}_*"))) + sorted(glob.glob(str(MODELS_DIR / "styles" / f"{s}_*")))
        if not found:
            raise SourceError(f"no style image for {s!r} under {DATA / 'styles'}")
        style_imgs[s] = load_rgb(found[0])
    losses = {}
    for path in photo_paths(settings.gatys_photos):
        for s, img in style_imgs.items():
            photo = load_photo(path, settings.size, 4)
            if s not in losses:
                losses[s] = build_loss(spec, img)
            t0 = time.perf_counter()
            gatys_reference(spec, img, photo, settings.gatys_iters, cache_dir / "gatys", loss=losses[s],
                            optimizer=settings.gatys_optimizer, lr=settings.gatys_lr,
                            label=f"{s} {path.parent.name}/{path.name}")
            log(f"gatys {s} {path.name}: {time.perf_counter() - t0:.0f} s")


def build_parser() -> argparse.ArgumentParser:
    from tools.splits import HELD_OUT

    p = argparse.ArgumentParser(prog="python -m tools.evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", nargs="+", help="model names or card paths (default: every lite/full model)")
    p.add_argument("--size", type=int, default=512, help="longer side of the evaluation photos")
    p.add_argument("--photos", type=int, default=len(HELD_OUT), help="how many held-out photos (tools.splits order)")
    p.add_argument("--gatys-photos", type=int, default=2, help=f"size of the Gatys subset: first N of {GATYS_SUBSET}")
    p.add_argument("--gatys-iters", type=int, default=100, help="iterations of the Gatys reference")
    p.add_argument("--gatys-optimizer", choices=("adam", "lbfgs"), default="adam", help="see gatys_reference")
    p.add_argument("--gatys-lr", type=float, default=5.0, help="Adam step in pixel units")
    p.add_argument("--clip", default=DEFAULT_CLIP, help="clip for the warping error (under DATA/videos, or a path)")
    p.add_argument("--clip-frames", type=int, default=30)
    p.add_argument("--clip-width", type=int, default=640)
    p.add_argument("--path", choices=tuple(STYLIZE_PATHS), default="native",
                   help="run the models at the photo's size (native), as livestyle stylize does (product), or "
                        "at their size and then through the half-size lite path's resampling (resampled: what "
                        "that path costs)")
    p.add_argument("--scale", type=float, default=None, metavar="F",
                   help="with --path product: run the network at F x the photo's size, as livestyle --scale F does "
                        "(the speed option for slow CPUs); not with --write-cards")
    p.add_argument("--cache", default=str(RUNS), help="cache folder (Gatys PNGs, per-model results)")
    p.add_argument("--json", dest="json_out", default=str(RUNS / "quality.json"), help="write all results here")
    p.add_argument("--markdown", default=None, help="also write the table to this file")
    p.add_argument("--gatys", choices=("compute", "cached", "refs"), default="compute",
                   help="cached: use only Gatys references already in the cache (ratio over those photos); refs: the "
                        "optima's figures recorded in --gatys-refs (written by --save-gatys-refs from the cards)")
    p.add_argument("--gatys-refs", default=str(RUNS / "gatys_refs.json"), help="see --gatys refs")
    p.add_argument("--save-gatys-refs", action="store_true",
                   help="only write the Gatys figures of the current cards' metrics to --gatys-refs")
    p.add_argument("--write-cards", action="store_true", help="store each model's metrics in its card")
    p.add_argument("--precompute-gatys", action="store_true", help="only warm the Gatys cache (see --recipe-card)")
    p.add_argument("--recipe-card", help="card whose training.recipe sets the loss for --precompute-gatys")
    p.add_argument("--styles", nargs="+", help="style ids for --precompute-gatys")
    return p


def main(argv: list[str] | None = None) -> int:
    from tools.splits import HELD_OUT

    args = build_parser().parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if not 1 <= args.gatys_photos <= len(GATYS_SUBSET):
            raise ConfigError(f"--gatys-photos must be 1 to {len(GATYS_SUBSET)}")
        if not 1 <= args.photos <= len(HELD_OUT):
            raise ConfigError(f"--photos must be 1 to {len(HELD_OUT)}")
        settings = EvalSettings(size=args.size, photos=tuple(HELD_OUT[: args.photos]),
                                gatys_photos=GATYS_SUBSET[: args.gatys_photos], gatys_iters=args.gatys_iters,
                                gatys_optimizer=args.gatys_optimizer, gatys_lr=args.gatys_lr,
                                clip=args.clip, clip_frames=args.clip_frames, clip_width=args.clip_width,
                                path=args.path, scale=args.scale)
        if args.scale is not None and args.write_cards:
            raise ConfigError("--write-cards records the default run in the cards: leave out --scale")
        cache = Path(args.cache)
        if args.precompute_gatys:
            if not args.recipe_card or not args.styles:
                raise ConfigError("--precompute-gatys needs --recipe-card CARD and --styles STYLE ...")
            precompute_gatys(Path(args.recipe_card), args.styles, settings, cache, log)
            return 0
        if args.save_gatys_refs:
            refs = gatys_refs_from_cards(style_models(None))
            Path(args.gatys_refs).parent.mkdir(parents=True, exist_ok=True)
            Path(args.gatys_refs).write_text(json.dumps(refs, indent=1) + "\n")
            log(f"{len(refs)} Gatys references -> {args.gatys_refs}")
            return 0
        refs = None
        if args.gatys == "refs":
            if not Path(args.gatys_refs).is_file():
                raise ConfigError(f"{args.gatys_refs} not found: write it with --save-gatys-refs")
            refs = json.loads(Path(args.gatys_refs).read_text())
        cards = style_models(args.models)
        if not cards:
            raise ModelError("no lite/full style models found in models/: train and export some first")
        results = []
        for card in cards:
            results.append(evaluate_model(card, settings, cache_dir=cache, gatys=args.gatys, log=log, refs=refs))
            if args.write_cards:
                set_card_metrics(card.card_path, card_metrics(results[-1]))
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = markdown_table(results)
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps({"settings": asdict(settings), "results": results}, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")
    print(table)
    bad = [r["model"] for r in results if r["artefacts"]["flagged"]]
    if bad:
        print(f"blob artefacts in: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
