"""Bad input, tried the way a new user would: through the real command line in a fresh process.

Every case must end with exactly one line ``livestyle: error: ...`` on stderr that names the problem, exit code 2,
and no traceback. tests/test_cli.py checks a few of these in-process; this file runs the installed entry point
(``python -m livestyle``) so import-time and native-library noise (ONNX Runtime, FFmpeg) would show up too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.conftest import FIXTURES, REPO

TINY = FIXTURES / "tiny-test.json"


@dataclass(frozen=True)
class Case:
    argv: Callable[[Path, int], list[str]]  # (files folder, a port that is taken) -> arguments
    expect: str  # a phrase the error line must contain
    skip_if_ok: str = ""  # hardware that may really exist elsewhere: a success is then not a failure


def _card(name: str, onnx_name: str) -> dict:
    card = json.loads(TINY.read_text())
    card.pop("sha256")
    card.update(name=name, files={"fp32": onnx_name})
    return card


def _gray_model(path: Path) -> None:
    """A valid ONNX model whose input has 1 channel (a grey-scale net): loads, but is not a style model."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "gray", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    cv2.imwrite(str(d / "photo.png"), np.random.default_rng(0).integers(0, 255, (30, 40, 3), np.uint8))
    rng = np.random.default_rng(1)
    (d / "random.onnx").write_bytes(rng.bytes(4096))  # a corrupt download, card beside it
    (d / "random.json").write_text(json.dumps(_card("random", "random.onnx")))
    (d / "bare.onnx").write_bytes(rng.bytes(4096))  # an .onnx with no card at all
    (d / "notes.onnx").write_text("these are my notes, not a model\n")  # not ONNX at all
    (d / "notes.json").write_text(json.dumps(_card("notes", "notes.onnx")))
    _gray_model(d / "gray.onnx")
    (d / "gray.json").write_text(json.dumps(_card("gray", "gray.onnx")))
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(200))
    (d / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.bytes(2000))
    (d / "empty").mkdir()
    from tests.test_cli import _video

    _video(d / "clip.mp4", n=3)
    shutil.copy(FIXTURES / "tiny-test.onnx", d / "tiny-test.onnx")
    shutil.copy(TINY, d / "tiny-test.json")
    return d


@pytest.fixture(scope="module")
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _stylize(*extra: str, model: str = "tiny-test.json", src: str = "photo.png") -> Callable[[Path, int], list[str]]:
    return lambda d, _port: ["stylize", str(d / src), "-o", str(d / "out.png"), "--model", str(d / model), *extra]


def _run(*extra: str) -> Callable[[Path, int], list[str]]:
    def argv(d: Path, port: int) -> list[str]:
        args = [a.replace("{d}", str(d)).replace("{port}", str(port)) for a in extra]
        return ["run", "--model", str(d / "tiny-test.json"), "--max-frames", "3", *args]
    return argv


CASES: dict[str, Case] = {
    "missing model file": Case(_stylize(model="missing.onnx"), "missing.onnx not found"),
    "missing model card": Case(_stylize(model="missing.json"), "missing.json not found"),
    "onnx without a card": Case(_stylize(model="bare.onnx"), "no model card"),
    "corrupt model": Case(_stylize(model="random.onnx"), "not a valid ONNX model"),
    "text file as model": Case(_stylize(model="notes.json"), "not a valid ONNX model"),
    "wrong input shape": Case(_stylize(model="gray.json"), "input has 1 channel, not 3"),
    "unreadable image": Case(_stylize(src="broken.png"), "cannot read image"),
    "unreadable video": Case(lambda d, _p: ["stylize", str(d / "broken.mp4"), "-o", str(d / "o.mp4"),
                                            "--model", str(d / "tiny-test.json")], "cannot read video"),
    "empty folder": Case(_stylize(src="empty"), "no images in folder"),
    "missing input": Case(_stylize(src="nothing-here.jpg"), "does not exist"),
    "live source not found": Case(_run("--source", "{d}/nothing.mp4"), "source not found"),
    "stream not reachable": Case(_run("--source", "rtsp://user:secret@127.0.0.1:1/live"), "cannot open stream"),
    "size 0x0": Case(_stylize("--size", "0x0"), "bad size"),
    "size abc": Case(_stylize("--size", "abc"), "bad size"),
    "capture size 0x0": Case(_run("--source", "synth", "--capture-size", "0x0"), "bad size"),
    "strength 2": Case(_stylize("--strength", "2"), "bad strength"),
    "temporal strength -1": Case(_stylize("--temporal-strength", "-1"), "bad temporal strength"),
    "device gpu9": Case(_stylize("--device", "gpu9"), "bad device"),
    "scale 0": Case(_stylize("--scale", "0"), "bad scale"),
    "max frames abc": Case(_run("--source", "synth", "--max-frames", "abc"), "bad frame count"),
    "provider not available": Case(_stylize("--device", "cuda"), "cuda", skip_if_ok="a usable CUDA device"),
    "port in use": Case(_run("--source", "synth:64x48", "--sink", "http:{port}"), "is in use"),
    "bad port": Case(_run("--source", "synth:64x48", "--sink", "http:70000"), "bad port"),
    "unknown sink": Case(_run("--source", "synth:64x48", "--sink", "ftp:x"), "bad sink"),
    "unwritable output file": Case(_run("--source", "synth:64x48", "--sink", "file:{d}/photo.png/x.mp4"),
                                   "cannot write video"),
    "video into one image": Case(lambda d, _p: ["stylize", str(d / "clip.mp4"), "-o", str(d / "out.png"),
                                                "--model", str(d / "tiny-test.json")], "single image"),
    "unknown output type": Case(lambda d, _p: ["stylize", str(d / "photo.png"), "-o", str(d / "out.txt"),
                                                "--model", str(d / "tiny-test.json")], "unknown output type"),
    "same output twice": Case(_run("--source", "synth:64x48", "--sink", "file:{d}/twice.mp4",
                                   "--sink", "file:{d}/twice.mp4"), "same output twice"),
    "missing virtual camera": Case(_run("--source", "synth:64x48", "--sink", "vcam"), "livestyle[virtualcam]",
                                   skip_if_ok="a virtual camera device"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_exit_2(name: str, files: Path, taken_port: int, tmp_path: Path) -> None:
    case = CASES[name]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "livestyle", *case.argv(files, taken_port)], capture_output=True,
                       text=True, timeout=180, cwd=tmp_path, env=env)
    if r.returncode == 0 and case.skip_if_ok:
        pytest.skip(f"this machine has {case.skip_if_ok}")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1, r.stderr  # no native-library chatter, no second message
    line = lines[0]
    assert line.startswith("livestyle: error: "), line
    assert case.expect.lower() in line.lower(), line
    assert len(line) < 500, line  # a line, not an essay
    assert not (files / "out.png").exists()  # nothing half-written
    assert "secret" not in r.stderr  # credentials in a URL are never echoed


def test_virtual_camera_hint_says_how_to_set_it_up(files: Path, tmp_path: Path) -> None:
    """The vcam error carries the OS's setup steps, not only the package name."""
    r = subprocess.run([sys.executable, "-m", "livestyle", *CASES["missing virtual camera"].argv(files, 0)],
                       capture_output=True, text=True, timeout=180, cwd=tmp_path,
                       env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO)))
    if r.returncode == 0:
        pytest.skip("this machine has a virtual camera device")
    step = "modprobe v4l2loopback" if sys.platform.startswith("linux") else "OBS"
    assert step in r.stderr, r.stderr
