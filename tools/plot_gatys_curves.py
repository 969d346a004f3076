"""Measure and plot Gatys loss against iterations (and seconds) for L-BFGS and Adam on the same pair.

    python -m tools.plot_gatys_curves --content kodim23.png --style starry_night.jpg --size 256 --iters 150 \
        --adam-lr 1 5 20 --out docs/gatys_lbfgs_vs_adam.png --csv-dir /tmp/curves

Every run starts from the content image with the same loss and weights; one iteration is one forward+backward
pass for both optimisers, so the x axis is equal compute. Prints a summary table (markdown) of the loss at a few
iterations, the final style/content distances and the seconds per iteration.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from livestyle.errors import LivestyleError
from tools.gatys import GatysConfig, stylize_image, write_log
from tools.images import load_tensor


def _read_csv(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def plot(runs: dict[str, list[dict[str, float]]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, hist in runs.items():
        it = [r["iteration"] + 1 for r in hist]
        total = [r["total"] for r in hist]
        secs = [r["seconds"] for r in hist]
        style = "-" if label.startswith("L-BFGS") else "--"
        axes[0].plot(it, total, style, label=label)
        axes[1].plot(secs, total, style, label=label)
    for ax, xlabel in zip(axes, ("iteration (one forward + backward pass)", "seconds (shared 2-core CPU)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("total loss")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def summary(runs: dict[str, list[dict[str, float]]], extra: dict[str, dict[str, float]], marks: Sequence[int]) -> str:
    head = "| run | " + " | ".join(f"loss @ {m}" for m in marks) + " | style dist | content dist | s/iter |"
    lines = [head, "|" + "---|" * (len(marks) + 4)]
    for label, hist in runs.items():
        vals = [f"{hist[m - 1]['total']:.3g}" if m <= len(hist) else "" for m in marks]
        e = extra.get(label, {})
        s_per = hist[-1]["seconds"] / len(hist)
        lines.append(f"| {label} | " + " | ".join(vals)
                     + f" | {e.get('style', float('nan')):.4f} | {e.get('content', float('nan')):.4f} | {s_per:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.plot_gatys_curves", description=__doc__.splitlines()[0])
    p.add_argument("--content", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--adam-lr", type=float, nargs="+", default=[1.0, 5.0, 20.0])
    p.add_argument("--out", default="docs/gatys_lbfgs_vs_adam.png")
    p.add_argument("--csv-dir", help="write (or, with --replot, read) one CSV per run here")
    p.add_argument("--replot", action="store_true", help="only redraw from the CSVs in --csv-dir")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    labels = ["L-BFGS"] + [f"Adam lr={lr:g}" for lr in args.adam_lr]
    runs: dict[str, list[dict[str, float]]] = {}
    extra: dict[str, dict[str, float]] = {}
    csv_dir = Path(args.csv_dir) if args.csv_dir else None
    try:
        if args.replot:
            if csv_dir is None:
                p.error("--replot needs --csv-dir")
            for label in labels:
                runs[label] = _read_csv(csv_dir / f"{label.replace(' ', '_').replace('=', '')}.csv")
        else:
            content = load_tensor(args.content, args.size)
            style = load_tensor(args.style)
            for label, opt, lr in [("L-BFGS", "lbfgs", 1.0)] + [(lab, "adam", lr) for lab, lr in
                                                                 zip(labels[1:], args.adam_lr)]:
                cfg = GatysConfig(size=args.size, iters=args.iters, optimizer=opt, lr=lr)
                res = stylize_image(content, [style], cfg, progress=label)
                runs[label] = res.history
                extra[label] = {"style": res.style_distance, "content": res.content_distance}
                print(f"{label}: loss {res.history[0]['total']:.4g} -> {res.history[-1]['total']:.4g}, "
                      f"style distance {res.style_distance:.4f} (content image {res.content_style_distance:.4f}), "
                      f"content distance {res.content_distance:.4f}, {res.seconds:.1f} s", flush=True)
                if csv_dir is not None:
                    write_log(res.history, csv_dir / f"{label.replace(' ', '_').replace('=', '')}.csv")
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    title = f"Gatys at {args.size} px: {Path(args.content).name} + {Path(args.style).name}"
    plot(runs, Path(args.out), title)
    marks = [m for m in (10, 25, 50, 100, args.iters) if m <= args.iters]
    print(summary(runs, extra, sorted(set(marks))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
