"""Teacher targets: cached by content hash, skipped on rerun, new targets when settings change."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tools.gatys import GatysConfig
from tools.images import save_rgb
from tools.teacher import cache_key, load_manifest, main, target_path


@pytest.fixture()
def data(tmp_path: Path) -> tuple[Path, Path]:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    for i in range(2):
        save_rgb(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), photos / f"p{i}.png")
    style = save_rgb(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), tmp_path / "style.png")
    return photos, style


def test_cache_key_depends_on_everything() -> None:
    base = cache_key(b"c", [b"s"], {"iters": 1})
    assert base == cache_key(b"c", [b"s"], {"iters": 1})
    assert base != cache_key(b"c2", [b"s"], {"iters": 1})
    assert base != cache_key(b"c", [b"s2"], {"iters": 1})
    assert base != cache_key(b"c", [b"s"], {"iters": 2})
    assert cache_key(b"ab", [b"c"], {}) != cache_key(b"a", [b"bc"], {})


def test_teacher_makes_then_skips(data: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    photos, style = data
    out = tmp_path / "targets"
    args = ["--style", str(style), "--data", str(photos), "--out", str(out), "--size", "32", "--iters", "2",
            "--quiet", "--threads", "1"]
    assert main(args) == 0
    assert "2 targets made, 0 already cached" in capsys.readouterr().out
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2
    mtimes = [p.stat().st_mtime_ns for p in pngs]
    manifest = load_manifest(out)
    assert set(manifest) == {str(photos / "p0.png"), str(photos / "p1.png")}
    cfg = GatysConfig(size=32, iters=2)
    assert target_path(out, photos / "p0.png", [style], cfg) == manifest[str(photos / "p0.png")]

    # Rerun: everything cached, nothing rewritten.
    assert main(args) == 0
    assert "0 targets made, 2 already cached" in capsys.readouterr().out
    assert [p.stat().st_mtime_ns for p in pngs] == mtimes
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 2

    # New photo + changed setting: only what is missing is made.
    save_rgb(np.zeros((24, 32, 3), np.uint8), photos / "p2.png")
    assert main(args) == 0
    assert "1 targets made, 2 already cached" in capsys.readouterr().out
    changed = [a if a != "2" else "3" for a in args]  # --iters 3
    assert main([*changed, "--limit", "1"]) == 0
    assert "1 targets made, 0 already cached" in capsys.readouterr().out
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and rows[0]["size"] == [32, 24]


def test_teacher_user_errors(data: tuple[Path, Path], tmp_path: Path) -> None:
    photos, style = data
    assert main(["--style", str(tmp_path / "none.jpg"), "--data", str(photos), "--out", str(tmp_path / "o")]) == 2
    assert main(["--style", str(style), "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--style", str(style), "--data", str(empty), "--out", str(tmp_path / "o")]) == 2


def test_model_targets_are_the_models_output_at_the_requested_scale(data: tuple[Path, Path], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--model: feed-forward targets (distilling a lite net from a full one), cached and read by the trainer."""
    from livestyle.stylize.registry import find_model
    from livestyle.stylize.stylizer import Stylizer
    from tools.data import PhotoCrops
    from tools.images import load_rgb

    photos, _ = data
    card_path = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-test.json"
    out = tmp_path / "targets"
    args = ["--model", str(card_path), "--data", str(photos), "--out", str(out), "--size", "16", "--quiet",
            "--threads", "1"]
    assert main(args) == 0
    assert "2 targets made, 0 already cached" in capsys.readouterr().out
    manifest = load_manifest(out)
    assert set(manifest) == {str(photos / "p0.png"), str(photos / "p1.png")}
    target = load_rgb(manifest[str(photos / "p0.png")])
    assert target.shape == (16, 22, 3)  # shorter side 16, the 32x24 photo's aspect, even sides (size_multiple 2)
    import cv2

    small = cv2.resize(load_rgb(photos / "p0.png"), (22, 16), interpolation=cv2.INTER_AREA)
    expect = Stylizer(find_model(card_path), device="cpu", size=(22, 16), threads=1, precision="fp32")(small)
    assert np.abs(target.astype(int) - expect.astype(int)).max() <= 1
    assert main(args) == 0
    assert "0 targets made, 2 already cached" in capsys.readouterr().out
    crops = PhotoCrops([photos], size=8, teacher_dir=out)
    assert crops[0].shape == (6, 8, 8)
