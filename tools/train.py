"""Train a feed-forward style network (Johnson et al. 2016) with a temporal loss so it is stable on video.

    python -m tools.train --style STYLE.jpg --data PHOTOS_DIR [DIR...] --out runs/NAME [--arch lite|full] ...

Loss per step, on a batch of random photo crops x:

- perceptual loss (VGG19, :class:`tools.perceptual.PerceptualLoss`) of net(x1) against the style image and x;
- temporal loss (Huang et al. 2017 / Ruder et al. 2016): x2 = warp(x, random smooth flow) + noise, and
  mean(mask * (net(x2) - warp(net(x1)))^2) / 255^2 so the network commutes with motion and ignores sensor noise;
- optional distillation to teacher targets (Gatys outputs of the same photos, ``--teacher DIR``), or to a
  trained net's output computed on each crop (``--teacher-model``: a lite net learns from its full sibling).

- saturation penalty: mean(relu(|z| - logit_limit)^2) on the pre-sigmoid output z. A saturated sigmoid passes
  no gradient, so once a region reaches 0 or 255 the loss can never pull it back: the white blobs and black holes
  of the first full models (their |z| reached 100-230). The penalty keeps z where the sigmoid still learns.

``--train-scale 0.5`` trains through the product's fast path (:mod:`tools.runtime_path`): the net runs on the crop
shrunk to half, its output is guided-upsampled back, and every loss is taken on that, as the user sees it.

Mixed precision (:mod:`tools.precision`): bf16 autocast and channels-last on CUDA and on CPUs with native bf16
(AVX-512 BF16 / AMX), fp16 with a GradScaler on older GPUs, fp32 elsewhere; ``torchrun`` gives
DistributedDataParallel (initialised from the WORLD_SIZE/RANK/LOCAL_RANK environment). Checkpoints are
safetensors only (weights + optimizer tensors; step, config and optimizer hyper-parameters in its JSON metadata),
so no pickle is ever loaded. A CSV log, periodic sample images and a tqdm bar show progress.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open, save_file
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from livestyle.errors import ConfigError, LivestyleError
from tools import motion
from tools.data import PhotoCrops, VideoPairs
from tools.nets import PRESETS, NetConfig, build_net, count_params
from tools.perceptual import PerceptualLoss
from tools.precision import AMP_CHOICES, choose_precision
from tools.runtime_path import runtime_forward
from tools.splits import held_out_paths

CHECKPOINT_NAME = "last.safetensors"


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on; stored in every checkpoint and copied into the model card."""

    style: str
    data: tuple[str, ...]
    out: str
    arch: str = "lite"
    size: int = 256
    batch: int = 4
    steps: int = 40000
    max_minutes: float | None = None
    lr: float = 1e-3
    lr_final: float | None = None
    content_weight: float = 1.0
    style_weight: float = 50.0
    tv_weight: float = 1e-6
    temporal_weight: float = 20.0
    distill_weight: float = 0.0
    content_layers: tuple[str, ...] = ("conv4_2",)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_size: int | None = None
    teacher: str | None = None
    teacher_model: str | None = None
    video: tuple[str, ...] = ()
    motion: dict[str, float] = field(default_factory=lambda: asdict(motion.MotionConfig()))
    sample_every: int = 200
    checkpoint_every: int = 200
    log_every: int = 10
    seed: int = 0
    threads: int | None = None
    amp: str = "auto"
    channels_last: str = "auto"
    saturation_weight: float = 1.0
    logit_limit: float = 4.0
    train_scale: float = 1.0
    grad_clip: float | None = None
    init: str | None = None
    resume: bool = False

    def net_config(self) -> NetConfig:
        if self.arch not in PRESETS:
            raise ConfigError(f"unknown --arch {self.arch!r}: choose one of {', '.join(PRESETS)}")
        return PRESETS[self.arch]


# -- checkpoints (safetensors only) ---------------------------------------------------------------------------

def save_checkpoint(path: str | Path, net: nn.Module, optimizer: torch.optim.Optimizer | None, meta: dict[str, Any]) -> Path:
    """Write weights (``net.*``) and Adam moments (``opt.<i>.<key>``) as tensors, the rest as JSON metadata."""
    path = Path(path)
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt_meta: dict[str, Any] = {}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for idx, st in sd["state"].items():
            for key, val in st.items():
                if torch.is_tensor(val):
                    tensors[f"opt.{idx}.{key}"] = val.detach().cpu().contiguous().reshape(val.shape)
                else:
                    opt_meta.setdefault("scalars", {}).setdefault(str(idx), {})[key] = val
        opt_meta["param_groups"] = sd["param_groups"]
    meta = dict(meta, optimizer=opt_meta)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"livestyle": json.dumps(meta)})
    os.replace(tmp, path)
    return path


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (step, train config, net config, losses)."""
    with safe_open(str(path), framework="pt") as f:
        raw = (f.metadata() or {}).get("livestyle")
    if raw is None:
        raise LivestyleError(f"{path} is not a livestyle checkpoint (no metadata); train one with python -m tools.train")
    return json.loads(raw)


def load_net(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network stored in a checkpoint, in eval mode, and return it with the metadata."""
    path = Path(path)
    if not path.is_file():
        raise LivestyleError(f"checkpoint not found: {path}")
    meta = read_checkpoint_meta(path)
    net = build_net(meta["net"])
    state = {k[4:]: v for k, v in load_file(str(path)).items() if k.startswith("net.")}
    net.load_state_dict(state)
    return net.eval(), meta


def load_optimizer_state(path: str | Path, optimizer: torch.optim.Optimizer, meta: dict[str, Any]) -> None:
    tensors = load_file(str(path))
    opt_meta = meta.get("optimizer") or {}
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, key = k.split(".", 2)
            state.setdefault(int(idx), {})[key] = v
    for idx, scalars in (opt_meta.get("scalars") or {}).items():
        state.setdefault(int(idx), {}).update(scalars)
    if opt_meta.get("param_groups"):
        optimizer.load_state_dict({"state": state, "param_groups": opt_meta["param_groups"]})


# -- distributed helpers ----------------------------------------------------------------------------------------

def _dist_init() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    return dist.get_rank(), world, local


def init_weights(net: nn.Module, source: str) -> int:
    """Start ``net`` from a shipped model (a name like ``udnie-full``, a card or an ONNX path): its fp32 ONNX
    initializers, through the torch backend's checked loader; or from a ``.safetensors`` file of its weights (the
    GPU bundle's fp16 copies, which fit the device's transfer limit). Refuses a different architecture."""
    if source.endswith(".safetensors"):
        return _init_from_safetensors(net, Path(source))
    from livestyle.stylize.registry import find_model
    from livestyle.stylize.torch_backend import build_net as net_from_card

    card = find_model(str(Path(source).with_suffix(".json")) if source.endswith(".onnx") else source)
    donor = net_from_card(card)
    _check_architecture(net, card.architecture, source)
    net.load_state_dict(donor.state_dict())
    return card_steps(card.training)


def load_teacher_net(source: str) -> nn.Module:
    """A frozen, eval-mode net to distil from: a shipped model (name, card or .onnx) or a ``.safetensors`` file of
    ``tools.gpu_bundle prepare`` (its architecture is in the metadata), so the GPU run can carry it."""
    if source.endswith(".safetensors"):
        if not Path(source).is_file():
            raise ConfigError(f"--teacher-model {source}: no such file")
        with safe_open(source, framework="pt") as f:
            arch = json.loads((f.metadata() or {}).get("livestyle_init", "{}")).get("architecture")
        if arch is None:
            raise ConfigError(f"--teacher-model {source}: no architecture in its metadata (tools.gpu_bundle writes it)")
    else:
        from livestyle.stylize.registry import find_model

        arch = find_model(str(Path(source).with_suffix(".json")) if source.endswith(".onnx") else source).architecture
        if arch is None:
            raise ConfigError(f"--teacher-model {source}: its card records no architecture")
    net = build_net(arch)
    init_weights(net, source)
    return net.eval().requires_grad_(False)


def card_steps(training: dict[str, Any] | None) -> int:
    """All the steps a shipped model has had (``total_steps`` of a continued training, else ``steps``)."""
    training = training or {}
    return int(training.get("total_steps") or training.get("steps") or 0)


def _check_architecture(net: nn.Module, arch: dict[str, Any] | None, source: object) -> None:
    if arch is None or NetConfig.from_dict(arch).to_dict() != net.config.to_dict():
        raise ConfigError(f"--init {source}: its architecture ({(arch or {}).get('arch')}) differs from --arch "
                          f"{net.config.arch}")


def _init_from_safetensors(net: nn.Module, path: Path) -> int:
    """Load weights written by ``tools.gpu_bundle prepare`` (metadata ``livestyle_init``: architecture, steps)."""
    if not path.is_file():
        raise ConfigError(f"--init {path}: no such file")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("livestyle_init", "{}"))
    _check_architecture(net, meta.get("architecture"), path)
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return int(meta.get("total_steps") or 0)


def saturation_penalty(z: torch.Tensor, limit: float) -> torch.Tensor:
    """mean(relu(|z| - limit)^2): zero while the sigmoid's slope is at least sigmoid'(limit) (1.8% at 4)."""
    return torch.mean(F.relu(z.float().abs() - limit) ** 2)


def _loop(loader: DataLoader, sampler: DistributedSampler | None):
    epoch = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


# -- training -----------------------------------------------------------------------------------------------------

def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or resume) a training; returns the final metadata (also in ``<out>/last.safetensors``)."""
    from tools.images import load_tensor, save_rgb

    rank, world, local = _dist_init()
    main = rank == 0
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT_NAME
    net_cfg = cfg.net_config()
    # A resumed run must not replay the crops and motions of the first one: fold the resume step into the seeds.
    start = int(read_checkpoint_meta(ckpt)["step"]) if cfg.resume and ckpt.is_file() else 0
    seed = cfg.seed + 100_003 * start
    torch.manual_seed(seed + rank)

    dataset = PhotoCrops(cfg.data, cfg.size, seed=seed + rank, teacher_dir=cfg.teacher)
    sampler = DistributedSampler(dataset, seed=seed) if world > 1 else None
    loader = DataLoader(dataset, batch_size=cfg.batch, shuffle=sampler is None, sampler=sampler, drop_last=True,
                        num_workers=0, generator=torch.Generator().manual_seed(seed))
    if len(dataset) < cfg.batch:
        raise ConfigError(f"only {len(dataset)} training images for --batch {cfg.batch}: add photos or lower --batch")
    video_iter = None
    if cfg.video:
        vids = VideoPairs(cfg.video, cfg.size)
        video_iter = _loop(DataLoader(vids, batch_size=cfg.batch, shuffle=True, drop_last=True), None)

    style_img = load_tensor(cfg.style)
    loss_fn = PerceptualLoss([style_img], content_layers=cfg.content_layers, style_layers=cfg.style_layers,
                             content_weight=cfg.content_weight, style_weight=cfg.style_weight,
                             tv_weight=cfg.tv_weight, style_size=cfg.style_size).to(device)
    net = build_net(net_cfg).to(device)
    init_steps = 0
    if cfg.init and not (cfg.resume and ckpt.is_file()):
        init_steps = init_weights(net, cfg.init)
        if main:
            print(f"initialised from {cfg.init}", file=sys.stderr)
    prec = choose_precision(device, cfg.amp, cfg.channels_last)
    teacher_net = load_teacher_net(cfg.teacher_model).to(device) if cfg.teacher_model else None
    if prec.channels_last:
        net = net.to(memory_format=torch.channels_last)
        teacher_net = teacher_net.to(memory_format=torch.channels_last) if teacher_net is not None else None
        loss_fn.vgg = loss_fn.vgg.to(memory_format=torch.channels_last)
    if main:
        print(f"precision: {prec.name} on {device}", file=sys.stderr)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, elapsed_before = 0, 0.0
    if cfg.resume and ckpt.is_file():
        meta = read_checkpoint_meta(ckpt)
        state = {k[4:]: v for k, v in load_file(str(ckpt)).items() if k.startswith("net.")}
        net.load_state_dict(state)
        load_optimizer_state(ckpt, optimizer, meta)
        # The Adam moments carry over, the learning rate is this run's: lowering --lr to fine-tune a checkpoint
        # must take effect (the saved param_groups would otherwise restore the old rate silently).
        old_lr = {g["lr"] for g in optimizer.param_groups}
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr
        if main and old_lr != {cfg.lr}:
            print(f"learning rate {', '.join(f'{v:g}' for v in sorted(old_lr))} -> {cfg.lr:g}", file=sys.stderr)
        step, elapsed_before = int(meta["step"]), float(meta.get("train_seconds", 0.0))
        init_steps = int(meta.get("init_steps", 0))
        if main:
            print(f"resumed {ckpt} at step {step}", file=sys.stderr)
    model: nn.Module = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[local] if device.type == "cuda" else None)
    scaler = prec.scaler
    mcfg = motion.MotionConfig(**cfg.motion)
    gen = torch.Generator().manual_seed(seed * 1000 + rank)

    # Fixed sample inputs: the first held-out photos (viewing them is not training on them).
    samples = None
    if main and cfg.sample_every:
        roots = {Path(d).parent if Path(d).name in ("kodak24", "coco_permissive") else Path(d) for d in cfg.data}
        paths = [p for r in roots for p in held_out_paths(r)][:4] or dataset.paths[:4]
        samples = torch.cat([F.interpolate(load_tensor(p, longest=cfg.size), size=(cfg.size, cfg.size),
                                           mode="bilinear", align_corners=False) for p in paths]).to(device)
        (out / "samples").mkdir(exist_ok=True)

    log_path = out / "log.csv"
    fields = ["step", "total", "content", "style", "tv", "temporal", "distill", "saturation", "lr", "images_per_s",
              "elapsed_s"]
    new_log = not (cfg.resume and log_path.is_file())
    if not new_log and log_path.read_text().split("\n", 1)[0].split(",") != fields:  # an older log layout
        os.replace(log_path, log_path.with_name(f"log_before_step{start}.csv"))
        new_log = True
    log_file = open(log_path, "w" if new_log else "a", newline="") if main else None
    writer = csv.DictWriter(log_file, fieldnames=fields) if log_file else None
    if writer and new_log:
        writer.writeheader()

    def meta_now(last: dict[str, float]) -> dict[str, Any]:
        return {"step": step, "train_seconds": elapsed_before + (time.perf_counter() - t0), "net": net_cfg.to_dict(),
                "params": count_params(net), "config": asdict(cfg), "losses": last, "world_size": world,
                "device": str(device), "torch": torch.__version__, "precision": prec.name,
                "init_steps": init_steps}

    from tqdm import tqdm

    t0 = time.perf_counter()
    deadline = t0 + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    bar = tqdm(total=cfg.steps, initial=step, disable=not main, dynamic_ncols=True,
               mininterval=1.0 if sys.stderr.isatty() else 30.0, desc=Path(cfg.out).name)
    batches = _loop(loader, sampler)
    last: dict[str, float] = {}
    t_log, n_log = time.perf_counter(), 0
    net.train()
    while step < cfg.steps and time.perf_counter() < deadline:
        if cfg.lr_final is not None:
            progress = run_progress(step - start, cfg.steps - start, time.perf_counter() - t0, cfg.max_minutes)
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(cfg.lr, cfg.lr_final, progress)
        batch = next(batches)
        x = batch[:, :3].to(device, non_blocking=True)
        teacher = batch[:, 3:].to(device) if batch.shape[1] > 3 else None
        with prec.autocast():
            if teacher_net is not None:
                with torch.no_grad():
                    teacher = teacher_net(prec.format(x)).float()
            if cfg.temporal_weight > 0:
                if video_iter is not None and step % 2 == 1:
                    f1, f2, flow, mask = (t.to(device) for t in next(video_iter))
                    content = f1
                else:
                    f1, f2, flow, mask = motion.make_pair(x, mcfg, generator=gen)
                    content = x
                y, z = runtime_forward(model, prec.format(torch.cat([f1, f2])), cfg.train_scale)
                y1, y2 = y[: len(f1)], y[len(f1):]
                warped, valid = motion.warp(y1.float(), flow)
                temporal = torch.mean(mask * valid * (y2.float() - warped) ** 2) / 255.0**2
            else:
                content = x
                y1, z = runtime_forward(model, prec.format(x), cfg.train_scale)
                temporal = torch.zeros((), device=device)
            terms = loss_fn(prec.format(y1.float()), content=prec.format(content))
            distill = torch.zeros((), device=device)
            if teacher is not None and cfg.distill_weight > 0 and content is x:
                distill = torch.mean((y1.float() - teacher) ** 2) / 255.0**2
            saturation = saturation_penalty(z, cfg.logit_limit) if cfg.saturation_weight > 0 else torch.zeros((), device=device)
            total = (terms["total"] + cfg.temporal_weight * temporal + cfg.distill_weight * distill
                     + cfg.saturation_weight * saturation)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(total).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            total.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            optimizer.step()
        step += 1
        n_log += x.shape[0] * world
        bar.update(1)
        if main and (step % cfg.log_every == 0 or step == 1):
            now = time.perf_counter()
            last = {"total": float(total.detach()), "content": float(terms["content"].detach()), "style": float(terms["style"].detach()),
                    "tv": float(terms["tv"].detach()), "temporal": float(temporal.detach()), "distill": float(distill.detach()),
                    "saturation": float(saturation.detach())}
            ips = n_log / max(now - t_log, 1e-9)
            writer.writerow({"step": step, **{k: f"{v:.6g}" for k, v in last.items()},
                             "lr": f"{optimizer.param_groups[0]['lr']:.6g}", "images_per_s": f"{ips:.3f}",
                             "elapsed_s": f"{elapsed_before + now - t0:.1f}"})
            log_file.flush()
            bar.set_postfix(loss=f"{last['total']:.4g}", style=f"{last['style']:.3g}", ips=f"{ips:.2f}")
            t_log, n_log = now, 0
        if main and samples is not None and step % cfg.sample_every == 0:
            _save_samples(net, samples, out / "samples" / f"step_{step:06d}.png", save_rgb, cfg.train_scale)
        if main and step % cfg.checkpoint_every == 0:
            save_checkpoint(ckpt, net, optimizer, meta_now(last))
    bar.close()
    meta = meta_now(last)
    if main:
        save_checkpoint(ckpt, net, optimizer, meta)
        if samples is not None:
            _save_samples(net, samples, out / "samples" / "final.png", save_rgb, cfg.train_scale)
        log_file.close()
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return meta


def run_progress(steps_done: int, steps_total: int, seconds: float, max_minutes: float | None) -> float:
    """How far this run is through its budget, 0..1: steps or wall time, whichever runs out first (CPU and GPU
    rounds are budgeted in minutes, so a step-only schedule would never reach its end)."""
    by_steps = steps_done / steps_total if steps_total > 0 else 1.0
    by_time = seconds / (max_minutes * 60) if max_minutes else 0.0
    return min(1.0, max(by_steps, by_time))


def cosine_lr(lr: float, lr_final: float, progress: float) -> float:
    """Cosine decay from ``lr`` to ``lr_final``: a model that has stopped improving at a fixed rate still gains
    once the rate falls (docs/TRAINING.md, session 20)."""
    return lr_final + (lr - lr_final) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def _save_samples(net: nn.Module, samples: torch.Tensor, path: Path, save_rgb: Any, scale: float = 1.0) -> None:
    was = net.training
    net.eval()
    with torch.no_grad():
        y = runtime_forward(net, samples.float(), scale)[0].float()
    net.train(was)
    grid = torch.cat([torch.cat([s, o], dim=1) for s, o in zip(samples, y)], dim=2)  # inputs over outputs
    save_rgb(grid, path)


# -- command line ---------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(style="", data=(), out="")
    p = argparse.ArgumentParser(prog="python -m tools.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--style", required=True, help="style image file")
    p.add_argument("--data", required=True, nargs="+", help="folder(s) of training photos (held-out ones are skipped)")
    p.add_argument("--out", required=True, help="run folder: checkpoint, log.csv, samples/")
    p.add_argument("--arch", default=d.arch, choices=sorted(PRESETS))
    p.add_argument("--size", type=int, default=d.size, help="training crop size in pixels (multiple of 4)")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this much wall time (this run)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--lr-final", type=float, default=None,
                   help="decay the learning rate to this by the end of this run's --steps or --max-minutes (cosine)")
    p.add_argument("--content-weight", type=float, default=d.content_weight)
    p.add_argument("--style-weight", type=float, default=d.style_weight)
    p.add_argument("--tv-weight", type=float, default=d.tv_weight)
    p.add_argument("--temporal-weight", type=float, default=d.temporal_weight)
    p.add_argument("--distill-weight", type=float, default=None,
                   help="weight of the teacher-target loss (default 1.0 with --teacher or --teacher-model, else 0)")
    p.add_argument("--content-layers", default=",".join(d.content_layers))
    p.add_argument("--style-layers", default=",".join(d.style_layers))
    p.add_argument("--style-size", type=int, default=None, help="resize the style image's longer side first")
    p.add_argument("--teacher", default=None, help="folder of teacher targets named like the training photos")
    p.add_argument("--teacher-model", default=None,
                   help="distil from this trained net's output on each crop (a model name, card, .onnx, or a "
                        "gpu_bundle .safetensors), e.g. a lite net from its full sibling")
    p.add_argument("--video", nargs="*", default=[], help="folders of video frames for real temporal pairs")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
    p.add_argument("--sample-every", type=int, default=d.sample_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--amp", default=d.amp, choices=AMP_CHOICES,
                   help="mixed precision: auto = bf16 on GPUs and on CPUs with native bf16 (AVX-512 BF16/AMX), else fp32")
    p.add_argument("--channels-last", default=d.channels_last, choices=["auto", "on", "off"],
                   help="NHWC memory format (auto: with mixed precision, and always on CUDA)")
    p.add_argument("--saturation-weight", type=float, default=d.saturation_weight,
                   help="weight of the penalty on pre-sigmoid values beyond --logit-limit (0: off)")
    p.add_argument("--logit-limit", type=float, default=d.logit_limit)
    p.add_argument("--train-scale", type=float, default=d.train_scale,
                   help="0.5: train through the fast path (net at half size, guided upsampling; lite models)")
    p.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm to this")
    p.add_argument("--init", default=None, help="start from a shipped model's weights (name, card or .onnx)")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    if args.size % 4 or args.size < 16:
        raise ConfigError(f"--size {args.size}: use a multiple of 4, at least 16")
    if not Path(args.style).is_file():
        raise ConfigError(f"style image not found: {args.style}")
    if args.teacher and args.teacher_model:
        raise ConfigError("give --teacher (a folder of targets) or --teacher-model (a net), not both")
    teach = bool(args.teacher or args.teacher_model)
    distill = args.distill_weight if args.distill_weight is not None else (1.0 if teach else 0.0)
    if not 0.1 <= args.train_scale <= 1.0:
        raise ConfigError(f"--train-scale {args.train_scale}: use a value in 0.1..1 (0.5 = the lite fast path)")
    if args.train_scale != 1.0 and (args.size * args.train_scale) % 4:
        raise ConfigError(f"--size {args.size} x --train-scale {args.train_scale} must be a multiple of 4")
    if args.lr_final is not None and not 0 < args.lr_final <= args.lr:
        raise ConfigError(f"--lr-final {args.lr_final:g}: use a value above 0 and at most --lr ({args.lr:g})")
    return TrainConfig(
        style=str(args.style), data=tuple(args.data), out=str(args.out), arch=args.arch, size=args.size,
        batch=args.batch, steps=args.steps, max_minutes=args.max_minutes, lr=args.lr, lr_final=args.lr_final,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        temporal_weight=args.temporal_weight, distill_weight=distill,
        content_layers=tuple(s for s in args.content_layers.split(",") if s),
        style_layers=tuple(s for s in args.style_layers.split(",") if s), style_size=args.style_size,
        teacher=args.teacher, teacher_model=args.teacher_model, video=tuple(args.video), sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every, seed=args.seed, threads=args.threads,
        amp=args.amp, channels_last=args.channels_last, saturation_weight=args.saturation_weight,
        logit_limit=args.logit_limit, train_scale=args.train_scale, grad_clip=args.grad_clip, init=args.init,
        resume=args.resume)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
        meta = train(cfg)
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"checkpoint": str(Path(cfg.out) / CHECKPOINT_NAME), "step": meta["step"],
                          "losses": meta["losses"], "train_seconds": round(meta["train_seconds"], 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
