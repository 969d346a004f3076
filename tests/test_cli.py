"""The command line: exit codes and one-line messages for bad input, and each command end to end (tiny model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livestyle.cli import main


@pytest.fixture()
def tiny(fixtures_dir: Path) -> str:
    return str(fixtures_dir / "tiny-test.json")


def _img(path: Path, w: int = 40, h: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return path


def _video(path: Path, n: int = 8, w: int = 64, h: int = 48) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            img = np.full((h, w, 3), (i * 20) % 255, np.uint8)
            img[:, (i * 4) % w:] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as f:
        frames = [fr for fr in f.decode(video=0)]
    return len(frames), (frames[0].width, frames[0].height)


def _error(capsys, argv: list[str], match: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert lines[-1].startswith("livestyle: error:") and match in lines[-1], err
    assert "Traceback" not in err
    return lines[-1]


def test_bad_option_values(capsys, tiny) -> None:
    _error(capsys, ["run", "--size", "640by480"], "bad size")
    _error(capsys, ["stylize", "x.png", "-o", "y.png", "--strength", "1.5"], "bad strength")
    _error(capsys, ["bench", "--device", "gpu"], "bad device")
    _error(capsys, ["run", "--sink", "ftp:foo"], "bad sink")
    _error(capsys, ["bench", "--frames", "0"], "frame count")
    _error(capsys, ["run", "--temporal-strength", "nan"], "temporal strength")
    _error(capsys, ["run", "--warp", "nearest"], "bad warp mode")


def test_argparse_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["stylize", "in.png"])  # -o missing
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["run", "--size", "64x64", "--scale", "0.5"])
    assert e.value.code == 2


def test_model_errors(capsys, tmp_path, tiny) -> None:
    img = _img(tmp_path / "in.png")
    out = str(tmp_path / "out.png")
    _error(capsys, ["stylize", str(img), "-o", out, "--model", "no-such-model"], "unknown model")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not an onnx file")
    _error(capsys, ["stylize", str(img), "-o", out, "--model", str(bad)], "bad.json")  # no card beside it
    card = json.loads(Path(tiny).read_text())
    card.update(name="bad", files={"fp32": "bad.onnx"})
    card.pop("sha256")
    (tmp_path / "bad.json").write_text(json.dumps(card))
    _error(capsys, ["stylize", str(img), "-o", out, "--model", str(tmp_path / "bad.json")], "bad.onnx")
    _error(capsys, ["stylize", str(img), "-o", out, "--model", tiny, "--device", "cuda"], "CUDA")
    assert not Path(out).exists()


def test_input_errors(capsys, tmp_path, tiny) -> None:
    out = str(tmp_path / "out")
    _error(capsys, ["stylize", str(tmp_path / "missing.mp4"), "-o", out, "--model", tiny], "does not exist")
    (tmp_path / "empty").mkdir()
    _error(capsys, ["stylize", str(tmp_path / "empty"), "-o", out, "--model", tiny], "empty")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 100)
    _error(capsys, ["stylize", str(junk), "-o", str(tmp_path / "o.mp4"), "--model", tiny], "junk.mp4")
    vid = _video(tmp_path / "v.mp4", n=3)
    _error(capsys, ["stylize", str(vid), "-o", str(tmp_path / "o.png"), "--model", tiny], "single image")


def test_errors_from_a_real_process_have_no_traceback(tmp_path) -> None:
    r = subprocess.run([sys.executable, "-m", "livestyle", "run", "--model", str(tmp_path / "nope.json"),
                        "--source", "synth:64x48", "--max-frames", "2"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("livestyle: error:") and len(r.stderr.splitlines()) == 1


def test_models_json(capsys, tmp_path, fixtures_dir, monkeypatch) -> None:
    from livestyle.stylize import registry

    for name in ("tiny-test.json", "tiny-test.onnx"):
        shutil.copy(fixtures_dir / name, tmp_path / name)
    monkeypatch.setattr(registry, "MODELS_DIR", tmp_path)
    assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in models] == ["tiny-test"]
    m = models[0]
    assert m["variant"] == "test" and m["style"] == "tiny" and Path(m["path"]).name == "tiny-test.onnx"
    assert main(["models"]) == 0
    assert "tiny-test" in capsys.readouterr().out


def test_stylize_image_to_image(capsys, tmp_path, tiny) -> None:
    src = _img(tmp_path / "photo.jpg", 41, 29)
    out = tmp_path / "out" / "styled.png"
    assert main(["stylize", str(src), "-o", str(out), "--model", tiny, "--no-progress"]) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape == (29, 41, 3)


def test_stylize_folder_keeps_names_and_sizes(capsys, tmp_path, tiny) -> None:
    names = ["b.png", "a10.png", "a2.jpg"]
    for i, n in enumerate(names):
        _img(tmp_path / "in" / n, 40, 30, seed=i)
    assert main(["stylize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", tiny,
                 "--no-progress", "--strength", "0.5", "--preserve-colors"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["a10.png", "a2.png", "b.png"]
    assert all(cv2.imread(str(p)).shape == (30, 40, 3) for p in (tmp_path / "out").iterdir())


def test_stylize_video_to_mp4(capsys, tmp_path, tiny) -> None:
    vid = _video(tmp_path / "clip.mp4", n=8)
    out = tmp_path / "styled.mp4"
    assert main(["stylize", str(vid), "-o", str(out), "--model", tiny, "--no-progress"]) == 0
    assert _count_frames(out) == (8, (64, 48))
    assert "8 frames" in capsys.readouterr().out


def test_bench_json(capsys, tmp_path, tiny) -> None:
    j, p = tmp_path / "b.json", tmp_path / "b.png"
    assert main(["bench", "--size", "64x48", "--frames", "6", "--warmup", "2", "--model", tiny, "--json", str(j),
                 "--plot", str(p), "--compare"]) == 0
    data = json.loads(j.read_text())
    assert data["fps"] > 0 and data["frames"] == 6
    assert set(data["latency_ms"]) >= {"p50", "p95", "p99"}
    assert {"capture", "inference", "flow", "blend", "sink"} <= set(data["stages"])
    assert set(data["stages"]["inference"]) >= {"mean_ms", "p50_ms", "p95_ms"}
    assert data["config"]["pipelined"] is True and data["compare"][0]["config"]["pipelined"] is False
    assert data["machine"]["onnxruntime"] and data["machine"]["openvino"]
    assert data["providers"][0].startswith("OpenVINO CPU")  # the default backend (auto) on a CPU-only machine
    assert data["usage"]["cpu_ms_per_frame"] > 0 and data["usage"]["cores_used"] > 0
    assert p.stat().st_size > 1000
    assert "FPS" in capsys.readouterr().out


def test_warp_option_reaches_the_blender(tmp_path, tiny) -> None:
    j = tmp_path / "b.json"
    for mode in ("linear", "cubic"):
        assert main(["bench", "--size", "64x48", "--frames", "3", "--warmup", "1", "--model", tiny, "--json", str(j),
                     "--warp", mode]) == 0
        assert json.loads(j.read_text())["config"]["temporal"]["interpolation"] == mode


def test_run_synth_to_file(capsys, tmp_path, tiny) -> None:
    out = tmp_path / "run.mp4"
    assert main(["run", "--source", "synth:64x48", "--max-frames", "7", "--sink", f"file:{out}",
                 "--model", tiny, "--temporal-strength", "0.5"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("livestyle: 7 frames in") and "FPS" in line and str(out) in line
    assert _count_frames(out) == (7, (64, 48))


def test_bad_second_sink_fails_before_running(capsys, tmp_path, tiny) -> None:
    _error(capsys, ["run", "--source", "synth:64x48", "--model", tiny, "--max-frames", "3",
                    "--sink", f"file:{tmp_path / 'a.mp4'}", "--sink", f"file:{tmp_path / 'b.txt'}"], "b.txt")


def test_styles_are_preloaded(tmp_path, fixtures_dir) -> None:
    from livestyle.config import ModelConfig, RunConfig, SourceConfig
    from livestyle.pipeline import build_pipeline

    card = json.loads((fixtures_dir / "tiny-test.json").read_text())
    card["name"] = "tiny-two"
    shutil.copy(fixtures_dir / "tiny-test.onnx", tmp_path / "tiny-test.onnx")
    (tmp_path / "tiny-two.json").write_text(json.dumps(card))
    cfg = RunConfig(source=SourceConfig("synth:32x24"),
                    model=ModelConfig(model=str(fixtures_dir / "tiny-test.json"),
                                      styles=(str(tmp_path / "tiny-two.json"),)))
    pipe = build_pipeline(cfg, sinks=[])
    try:
        assert pipe.controls.style_names == ("tiny-test", "tiny-two") and len(pipe.stylizers) == 2
        assert pipe.controls.apply("next_style") == "style 2/2: tiny-two"
    finally:
        pipe.close()


def test_models_dir_and_env_add_user_models(capsys, tmp_path, fixtures_dir, monkeypatch) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("tiny-test.json", "tiny-test.onnx"):
        shutil.copy(fixtures_dir / name, mine / name)
    monkeypatch.delenv("LIVESTYLE_MODELS", raising=False)
    assert main(["models", "--json", "--models-dir", str(mine)]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)]
    assert "tiny-test" in names and "starry_night-lite" in names  # added before the bundled ones
    assert main(["models", "--json"]) == 0  # the flag does not outlive its command
    assert "tiny-test" not in [m["name"] for m in json.loads(capsys.readouterr().out)]
    monkeypatch.setenv("LIVESTYLE_MODELS", str(mine))
    assert main(["models", "--json"]) == 0
    assert "tiny-test" in [m["name"] for m in json.loads(capsys.readouterr().out)]
    out = tmp_path / "o.png"
    assert main(["stylize", str(_img(tmp_path / "p.jpg")), "-o", str(out), "--model", "tiny-test",
                 "--no-progress"]) == 0  # found by name on the search path
    assert out.is_file()


def test_models_dir_that_is_not_a_folder_is_one_line(capsys, tmp_path) -> None:
    assert main(["models", "--models-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livestyle: error: --models-dir") and err.count("\n") == 1


def test_training_command_without_the_train_extra_is_one_line(tmp_path) -> None:
    code = ("import sys; sys.modules['torch'] = None; from livestyle.cli import main; "
            "sys.exit(main(['train', '--style', 'x.jpg', '--data', 'd', '--out', 'o']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "livestyle train needs the training extra" in r.stderr and "pip install 'livestyle[train]'" in r.stderr


def test_training_command_runs_livestyles_own_tools_from_any_folder(tmp_path) -> None:
    """A foreign `tools` package in the working folder does not shadow livestyle's."""
    pytest.importorskip("torch")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("raise ImportError('a foreign tools package')\n")
    r = subprocess.run([sys.executable, "-m", "livestyle", "gatys", "--help"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "--content" in r.stdout
