"""The runtime must stay importable without PyTorch (ARCHITECTURE.md: layout)."""

import subprocess
import sys


def test_runtime_does_not_import_torch() -> None:
    code = (
        "import sys, importlib, pkgutil, livestyle\n"
        "for m in pkgutil.walk_packages(livestyle.__path__, 'livestyle.'):\n"
        "    if '.torch' in m.name: continue\n"
        "    importlib.import_module(m.name)\n"
        "assert 'torch' not in sys.modules, 'runtime imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bundled_data_is_found_in_a_clone() -> None:
    """In a clone (plain or editable) the repository's own models/, assets/ and tools/ are used."""
    from pathlib import Path

    from livestyle.resources import bundled_dir, training_root

    repo = Path(__file__).resolve().parents[1]
    assert bundled_dir("models") == repo / "models"
    assert bundled_dir("assets") == repo / "assets"
    assert training_root() == repo


def test_no_top_level_tools_package_is_installed() -> None:
    """pyproject/setup.py ship tools/ inside the package (livestyle/_train/tools), never as `tools`."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    assert "tools*" not in (repo / "pyproject.toml").read_text()
    setup = (repo / "setup.py").read_text()
    assert '"livestyle._train.tools": "tools"' in setup and 'include=["livestyle", "livestyle.*"]' in setup
