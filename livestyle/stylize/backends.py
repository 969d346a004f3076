"""Which inference backend builds the stylizer: ONNX Runtime, OpenVINO (CPU) or the optional torch backend.

The one place that turns ``--backend`` into a stylizer object, so the pipeline and the bench never name a backend
class. ``auto`` (the default) runs ONNX Runtime when a GPU provider (TensorRT, CUDA) is usable and OpenVINO on the
CPU, where it runs the network 1.2-2x faster (docs/BENCHMARKS.md); without OpenVINO it falls back to ONNX Runtime.
The torch backend is imported only when chosen (the runtime stays torch-free otherwise), and a missing or unusable
torch is reported with the install hint instead of a traceback (imageio ``core/imopen.py`` in spirit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livestyle.config import BACKENDS, TORCH_MODES
from livestyle.errors import BackendUnavailable, ConfigError
from livestyle.stylize.card import ModelCard

TORCH_HINT = "pip install 'livestyle[torch]'"


def require_torch() -> Any:
    """Import torch or raise ``BackendUnavailable`` with the install hint (never an ImportError traceback)."""
    try:
        import torch
    except ImportError:
        raise BackendUnavailable("--backend torch needs PyTorch, which is not installed", TORCH_HINT) from None
    except OSError as exc:  # a torch wheel whose CUDA libraries do not load
        reason = " ".join(str(exc).split())[:160]
        raise BackendUnavailable(f"--backend torch: PyTorch is installed but does not load ({reason})",
                                 f"reinstall it: {TORCH_HINT}") from None
    return torch


def resolve_backend(backend: str, device: str = "auto", precision: str | None = None) -> str:
    """The concrete backend for ``backend`` (``auto`` decided here, once per model load; the others pass)."""
    if backend != "auto":
        return backend
    from livestyle.stylize.openvino_backend import PRECISIONS, openvino_usable

    if device not in ("auto", "cpu") or (precision is not None and precision not in PRECISIONS):
        return "onnxruntime"
    if device == "auto":
        from livestyle.stylize.providers import probe

        if any(probe(gpu) is None for gpu in ("tensorrt", "cuda")):
            return "onnxruntime"
    return "openvino" if openvino_usable() else "onnxruntime"


def open_stylizer(card: ModelCard | str | Path, *, backend: str = "auto", device: str = "auto",
                  size: tuple[int, int] | None = None, scale: float | None = None, threads: int | None = None,
                  torch_mode: str | None = None, upsample: str = "guided", precision: str | None = None) -> Any:
    """A stylizer for ``card`` on ``backend``: both kinds share the ``preprocess -> infer -> postprocess`` stages,
    ``processing_size``, ``__call__``, ``device``, ``provider`` and ``precision``."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if torch_mode is not None and backend != "torch":
        raise ConfigError(f"--torch-mode {torch_mode} needs --backend torch")
    backend = resolve_backend(backend, device, precision)
    if backend == "openvino":
        from livestyle.stylize.openvino_backend import OpenVinoStylizer

        return OpenVinoStylizer(card, device=device, size=size, scale=scale, threads=threads, upsample=upsample,
                                precision=precision)
    if backend == "onnxruntime":
        from livestyle.stylize.stylizer import Stylizer

        return Stylizer(card, device=device, size=size, scale=scale, threads=threads, upsample=upsample,
                        precision=precision)
    mode = torch_mode or TORCH_MODES[0]
    if mode not in TORCH_MODES:
        raise ConfigError(f"unknown torch mode {mode!r}: choose one of {', '.join(TORCH_MODES)}")
    require_torch()
    from livestyle.stylize.torch_backend import TorchStylizer

    return TorchStylizer(card, device=device, size=size, scale=scale, threads=threads, upsample=upsample,
                         precision=precision, mode=mode)
