"""The trainer: a few steps lower the loss, safetensors checkpoints round-trip and resume, held-out photos excluded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors import safe_open

from livestyle.errors import ConfigError, SourceError
from tools import motion
from tools.data import PhotoCrops, list_training_images
from tools.nets import TransformerNet
from tools.perceptual import PerceptualLoss
from tools.splits import HELD_OUT, is_held_out
from tools.train import (TrainConfig, build_parser, config_from_args, cosine_lr, load_net, read_checkpoint_meta,
                         run_progress, save_checkpoint, train)

SHARED_PHOTOS = Path("/work/shared/data/photos")


def _write_images(folder: Path, names: list[str], size: tuple[int, int] = (48, 40), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        yy, xx = np.mgrid[0:size[1], 0:size[0]]
        img = np.stack([(xx * (3 + i)) % 256, (yy * 5) % 256, rng.integers(0, 255, size[::-1])], -1).astype(np.uint8)
        cv2.imwrite(str(folder / n), img)


@pytest.fixture()
def tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    _write_images(tmp_path / "photos" / "kodak24", ["kodim01.png", "kodim02.png", "kodim23.png"])
    _write_images(tmp_path / "photos" / "coco_permissive", ["a.jpg", "val2017_000000005001.jpg"], seed=1)
    _write_images(tmp_path / "style", ["style.png"], size=(40, 40), seed=3)
    return tmp_path / "photos", tmp_path / "style" / "style.png"


def test_held_out_split_is_big_enough_and_named() -> None:
    assert len(HELD_OUT) >= 10
    assert len(set(HELD_OUT)) == len(HELD_OUT)
    assert any(p.startswith("kodak24/") for p in HELD_OUT) and any(p.startswith("coco_permissive/") for p in HELD_OUT)
    assert is_held_out("/anywhere/kodak24/kodim23.png") and not is_held_out("/anywhere/kodak24/kodim01.png")


def test_held_out_photos_never_reach_training(tiny_data: tuple[Path, Path]) -> None:
    photos, _ = tiny_data
    files = list_training_images([photos / "kodak24", photos / "coco_permissive"])
    names = {p.name for p in files}
    assert names == {"kodim01.png", "kodim02.png", "a.jpg"}
    ds = PhotoCrops([photos], size=16)
    assert not any(is_held_out(p) for p in ds.paths) and len(ds) == 3


@pytest.mark.skipif(not SHARED_PHOTOS.is_dir(), reason="shared photo set not present")
def test_held_out_photos_exist_and_are_excluded_from_the_real_set() -> None:
    for rel in HELD_OUT:
        assert (SHARED_PHOTOS / rel).is_file(), rel
    files = list_training_images([SHARED_PHOTOS])  # lists paths only (no decoding): cheap
    keys = {f"{p.parent.name}/{p.name}" for p in files}
    assert not keys & set(HELD_OUT)
    assert len(files) >= 100


def test_only_held_out_photos_is_an_error(tmp_path: Path) -> None:
    _write_images(tmp_path / "kodak24", ["kodim23.png"])
    with pytest.raises(SourceError, match="no training images"):
        list_training_images([tmp_path])


def test_few_steps_lower_the_loss() -> None:
    """Same loss as the trainer (perceptual + temporal) on a fixed batch: 15 Adam steps must lower it."""
    torch.manual_seed(0)
    style = torch.rand(1, 3, 32, 32) * 255
    loss_fn = PerceptualLoss([style], content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1"),
                             style_weight=20.0)
    net = TransformerNet("lite")
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g) * 255
    f1, f2, flow, mask = motion.make_pair(x, generator=g)

    def loss() -> torch.Tensor:
        y = net(torch.cat([f1, f2]))
        warped, valid = motion.warp(y[:2], flow)
        temporal = torch.mean(mask * valid * (y[2:] - warped) ** 2) / 255.0**2
        return loss_fn(y[:2], content=x)["total"] + 20 * temporal

    first = float(loss().detach())
    for _ in range(15):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert float(loss().detach()) < 0.8 * first


def test_checkpoint_roundtrip_is_safetensors(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = TransformerNet("lite")
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.rand(1, 3, 16, 16) * 255).mean().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "c.safetensors", net, opt, {"step": 7, "net": net.config.to_dict()})
    with safe_open(str(path), framework="pt") as f:   # a safetensors file, not a pickle
        keys = list(f.keys())
        assert json.loads(f.metadata()["livestyle"])["step"] == 7
    assert any(k.startswith("opt.") for k in keys) and any(k.startswith("net.") for k in keys)
    again, meta = load_net(path)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert meta["optimizer"]["param_groups"][0]["lr"] == 1e-3


def test_train_writes_log_samples_and_resumes(tiny_data: tuple[Path, Path], tmp_path: Path) -> None:
    photos, style = tiny_data
    out = tmp_path / "run"
    common = dict(style=str(style), data=(str(photos),), out=str(out), arch="lite", size=32, batch=2, lr=1e-3,
                  content_layers=("relu1_1",), style_layers=("relu1_1", "relu2_1"), sample_every=2,
                  checkpoint_every=2, log_every=1, threads=1)
    train(TrainConfig(steps=2, **common))
    first = read_checkpoint_meta(out / "last.safetensors")
    assert first["step"] == 2 and first["net"]["arch"] == "lite"
    assert (out / "samples" / "step_000002.png").is_file()
    common["lr"] = 3e-4   # fine-tuning at a lower rate: the command line wins over the checkpoint's param_groups
    meta = train(TrainConfig(steps=4, resume=True, **common))
    assert meta["step"] == 4
    assert read_checkpoint_meta(out / "last.safetensors")["optimizer"]["param_groups"][0]["lr"] == 3e-4
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["images_per_s"]) > 0 and np.isfinite(float(r["total"])) for r in rows)


def test_cosine_lr_runs_from_lr_to_lr_final_over_the_budget() -> None:
    assert cosine_lr(1e-3, 1e-4, 0.0) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 1e-4, 0.5) == pytest.approx(5.5e-4)
    assert cosine_lr(1e-3, 1e-4, 1.0) == pytest.approx(1e-4)
    assert cosine_lr(1e-3, 1e-4, 3.0) == pytest.approx(1e-4)          # past the budget: stays at the floor
    # Minutes-budgeted rounds (the CPU and GPU scripts set --steps 1000000): wall time drives the schedule.
    assert run_progress(10, 1_000_000, 300.0, 10.0) == pytest.approx(0.5)
    assert run_progress(3, 4, 1.0, None) == pytest.approx(0.75)
    assert run_progress(0, 0, 0.0, None) == 1.0


def test_lr_final_decays_the_rate_within_the_run(tiny_data: tuple[Path, Path], tmp_path: Path) -> None:
    photos, style = tiny_data
    out = tmp_path / "run"
    train(TrainConfig(style=str(style), data=(str(photos),), out=str(out), arch="lite", size=32, batch=2, steps=4,
                      lr=1e-3, lr_final=1e-4, content_layers=("relu1_1",), style_layers=("relu1_1",),
                      sample_every=0, checkpoint_every=10, log_every=1, threads=1))
    rates = [float(r["lr"]) for r in csv.DictReader(open(out / "log.csv"))]
    assert rates[0] == pytest.approx(1e-3) and rates == sorted(rates, reverse=True) and rates[-1] < 3e-4


def test_lr_final_above_lr_is_a_user_error(tiny_data: tuple[Path, Path], tmp_path: Path) -> None:
    _, style = tiny_data
    with pytest.raises(ConfigError, match="--lr-final"):
        config_from_args(build_parser().parse_args(["--style", str(style), "--data", str(tmp_path), "--out",
                                                    str(tmp_path / "r"), "--lr", "1e-3", "--lr-final", "2e-3"]))


def test_teacher_targets_are_cropped_with_their_photo(tiny_data: tuple[Path, Path], tmp_path: Path) -> None:
    photos, _ = tiny_data
    teach = tmp_path / "teacher"
    _write_images(teach, ["kodim01.png", "a.png", "kodim23.png"], seed=5)
    ds = PhotoCrops([photos], size=16, teacher_dir=teach)
    assert sorted(p.name for p in ds.paths) == ["a.jpg", "kodim01.png"]   # kodim02 has no target; kodim23 held out
    item = ds[0]
    assert item.shape == (6, 16, 16)


def test_teacher_model_distils_its_output_into_the_student(tiny_data: tuple[Path, Path], tmp_path: Path) -> None:
    """--teacher-model: the teacher net runs on each crop and the student is pulled towards its output (a lite_hd
    student learning from a shipped model, here starry_night-lite, the fp16 copy the GPU bundle carries)."""
    from tools import gpu_bundle
    from tools.train import load_teacher_net

    photos, style = tiny_data
    inits = {p.stem: p for p in gpu_bundle.write_inits(tmp_path / "init")}
    teacher = load_teacher_net(str(inits["starry_night-lite"]))
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    out = tmp_path / "run"
    common = dict(style=str(style), data=(str(photos),), out=str(out), arch="lite_hd", size=32, batch=2, lr=3e-3,
                  content_weight=0.0, style_weight=0.0, temporal_weight=0.0, distill_weight=1.0,
                  teacher_model=str(inits["starry_night-lite"]), content_layers=("relu1_1",),
                  style_layers=("relu1_1",), sample_every=0, checkpoint_every=100, log_every=1, threads=1, seed=3)
    train(TrainConfig(steps=40, **common))
    distill = [float(r["distill"]) for r in csv.DictReader(open(out / "log.csv"))]
    assert distill[0] > 0 and np.mean(distill[-5:]) < 0.5 * np.mean(distill[:5])
    with pytest.raises(ConfigError, match="not both"):
        config_from_args(build_parser().parse_args(["--style", str(style), "--data", str(photos), "--out",
                                                    str(out), "--teacher", str(tmp_path), "--teacher-model", "x"]))
    with pytest.raises(ConfigError, match="no such file"):
        load_teacher_net(str(tmp_path / "missing.safetensors"))
