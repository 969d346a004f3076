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
