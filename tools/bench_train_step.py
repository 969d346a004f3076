"""Time one training step of the bundled recipe in fp32, bf16 autocast and bf16 + channels-last (issue 11.1).

    .venv/bin/python -m tools.bench_train_step --rounds 5 --json runs/bench_train_step.json

One step = what tools.train does per batch: the temporal pair through the net (the lite net through the fast
path when ``--train-scale`` is below 1), the VGG19 loss, the backward pass and the Adam update, on random
inputs. The configurations are interleaved round by round, so a load change on a shared machine hits them alike;
min and median per configuration are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from tools import motion
from tools.nets import build_net
from tools.perceptual import PerceptualLoss
from tools.precision import choose_precision
from tools.runtime_path import runtime_forward
from tools.train import saturation_penalty

CONFIGS = (("fp32", "off", "off"), ("bf16", "bf16", "off"), ("bf16+channels_last", "bf16", "on"))


class Step:
    """One configuration's model, loss and optimizer, ready to time steps."""

    def __init__(self, arch: str, size: int, batch: int, scale: float, amp: str, cl: str, style: torch.Tensor) -> None:
        self.prec = choose_precision(torch.device("cpu"), amp, cl)
        self.loss = PerceptualLoss([style], content_layers=("relu2_2",),
                                   style_layers=("relu1_2", "relu2_2", "relu3_3", "relu4_1"), style_weight=20,
                                   tv_weight=1e-6, style_size=256)
        self.net = build_net(arch)
        if self.prec.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
            self.loss.vgg = self.loss.vgg.to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.net.parameters(), 1e-3)
        self.gen = torch.Generator().manual_seed(0)
        self.x = torch.rand(batch, 3, size, size, generator=self.gen) * 255
        self.scale = scale

    def __call__(self) -> float:
        t0 = time.perf_counter()
        p = self.prec
        with p.autocast():
            f1, f2, flow, mask = motion.make_pair(self.x, motion.MotionConfig(), generator=self.gen)
            y, z = runtime_forward(self.net, p.format(torch.cat([f1, f2])), self.scale)
            n = len(f1)
            warped, valid = motion.warp(y[:n].float(), flow)
            temporal = torch.mean(mask * valid * (y[n:].float() - warped) ** 2) / 255.0**2
            terms = self.loss(p.format(y[:n].float()), content=p.format(self.x))
            total = terms["total"] + 20 * temporal + saturation_penalty(z, 4.0)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    from tools.images import load_tensor

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=["lite:160:1.0", "lite:192:0.5", "full:128:1.0"],
                   help="arch:crop:train_scale")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=2, help="timed steps per configuration and round")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--style", default=str(Path(__file__).resolve().parents[1] / "models" / "styles" /
                                          "starry_night_vangogh.jpg"))
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    style = load_tensor(a.style)
    result = {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": a.threads, "batch": a.batch,
              "torch": torch.__version__, "cases": []}
    for case in a.cases:
        arch, size, scale = case.split(":")
        steps = {name: Step(arch, int(size), a.batch, float(scale), amp, cl, style) for name, amp, cl in CONFIGS}
        for s in steps.values():
            s()  # warm-up (oneDNN primitives)
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(a.rounds):
            for name, s in steps.items():
                times[name] += [s() for _ in range(a.steps)]
        row = {"arch": arch, "crop": int(size), "train_scale": float(scale)}
        for name, ts in times.items():
            row[name] = {"min_ms": round(min(ts) * 1e3, 1), "median_ms": round(statistics.median(ts) * 1e3, 1),
                         "images_per_s_median": round(a.batch / statistics.median(ts), 2)}
            print(f"{arch} {size}px scale {scale} {name:20s} min {row[name]['min_ms']:7.1f} ms  "
                  f"median {row[name]['median_ms']:7.1f} ms", flush=True)
        result["cases"].append(row)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
