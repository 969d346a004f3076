"""Execution providers, chosen in one place (rembg ``sessions/base.py``, obs-backgroundremoval in spirit).

``onnxruntime-gpu`` *lists* TensorRT and CUDA in ``get_available_providers()`` on machines with no GPU or no
CUDA libraries, then quietly runs on the CPU. So "available" here means: a real session was created on a
tiny probe model and ``session.get_providers()`` shows the provider. An explicit GPU request that does not
materialise raises ``BackendUnavailable`` with an install hint; only ``auto`` may settle for the CPU, and it
logs what it got and why the others failed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import logging
import os
import re
from pathlib import Path
from typing import Any

from livestyle.errors import BackendUnavailable, ConfigError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "tensorrt")
TRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PROVIDER_OF = {"tensorrt": TRT, "cuda": CUDA, "cpu": CPU}

HINTS = {
    "cuda": ("needs an NVIDIA GPU with its driver, plus the CUDA and cuDNN libraries that onnxruntime-gpu "
             "was built for: pip install 'onnxruntime-gpu[cuda,cudnn]' (or install CUDA/cuDNN system-wide), "
             "or use --device cpu"),
    "tensorrt": ("needs an NVIDIA GPU, CUDA/cuDNN and the TensorRT libraries (libnvinfer) on the library path: "
                 "pip install 'onnxruntime-gpu[cuda,cudnn]' tensorrt, or use --device cuda / --device cpu"),
}

# A one-node Relu model (84 bytes, built with onnx.helper, opset 13): enough to see which EP a session gets.
_PROBE_MODEL = base64.b64decode(
    "CAgSCWxpdmVzdHlsZTo/CgwKAXgSAXkiBFJlbHUSBXByb2JlWhMKAXgSDgoMCAESCAoCCAEKAggEYhMKAXkSDgoMCAESCAoCCAEKAggEQgQKABAN")


def trt_cache_dir() -> Path:
    """Where TensorRT engines are cached, so the minutes-long engine build happens once per model and GPU."""
    root = os.environ.get("LIVESTYLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "livestyle")
    return Path(root) / "trt"


def provider_options(device: str, *, fp16: bool = True, device_id: int = 0) -> list[Any]:
    """The providers list (with options) to hand to ``InferenceSession`` for one concrete device."""
    if device == "tensorrt":
        cache = trt_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        trt_opts = {
            "device_id": device_id,
            "trt_fp16_enable": bool(fp16),
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
        return [(TRT, trt_opts), (CUDA, {"device_id": device_id}), CPU]
    if device == "cuda":
        return [(CUDA, {"device_id": device_id, "cudnn_conv_algo_search": "HEURISTIC"}), CPU]
    if device == "cpu":
        return [CPU]
    raise ConfigError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")


def _quiet_session(model: bytes | str, providers: list[Any], sess_options: Any = None) -> Any:
    """Create a session with ORT's own logging and auto-fallback off, so failures come back to us."""
    import onnxruntime as ort

    so = sess_options or ort.SessionOptions()
    so.log_severity_level = 4
    ort.set_default_logger_severity(4)  # the provider bridge logs load failures on the default logger
    try:
        return ort.InferenceSession(model, sess_options=so, providers=providers, enable_fallback=0)
    finally:
        ort.set_default_logger_severity(2)


@functools.lru_cache(maxsize=None)
def probe(device: str) -> str | None:
    """None if ``device`` really works here, else the reason it does not (cached per process)."""
    if device == "cpu":
        return None
    import onnxruntime as ort

    wanted = PROVIDER_OF[device]
    if wanted not in ort.get_available_providers():
        return f"this onnxruntime build has no {wanted} (pip install onnxruntime-gpu)"
    if hasattr(ort, "preload_dlls"):
        # Loads CUDA/cuDNN from the nvidia-* wheels when they are installed. It *prints* each library it cannot
        # find, which on a CPU-only machine is a screenful of noise on every start: keep it for --verbose.
        chatter = io.StringIO()
        try:
            with contextlib.redirect_stdout(chatter):
                ort.preload_dlls(directory="")
        except Exception as exc:  # noqa: BLE001 - any failure here just means "not there"
            log.debug("preload_dlls: %s", exc)
        if chatter.getvalue().strip():
            log.debug("preload_dlls: %s", " | ".join(chatter.getvalue().split("\n")).strip(" |"))
    try:
        opts = provider_options(device, fp16=False)
        if device == "tensorrt":  # the probe model must not fill the user's engine cache
            opts[0] = (TRT, {"device_id": 0})
        sess = _quiet_session(_PROBE_MODEL, opts)
    except Exception as exc:  # noqa: BLE001 - ORT raises plain RuntimeError/Fail for missing libraries
        return f"{wanted} failed to start ({ort_reason(exc)})"
    got = sess.get_providers()
    if wanted not in got:
        return f"{wanted} did not load (session got {', '.join(got)}; CUDA/cuDNN libraries or GPU missing)"
    return None


def ort_reason(exc: BaseException) -> str:
    """The useful part of an ORT error: first line, without the C++ source location and signature."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    line = re.sub(r"^\S+\.(cc|h|cpp):\d+ .*?\) ", "", lines[0])
    return line[:200]


def choose_providers(device: str = "auto", *, fp16: bool = True) -> list[Any]:
    """Providers for ``device`` in auto|cpu|cuda|tensorrt, each verified on a probe session.

    auto: TensorRT > CUDA > CPU, logging what it settled on; an explicit device that cannot run raises
    ``BackendUnavailable`` (never a silent CPU fallback).
    """
    device = (device or "auto").lower()
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    if device != "auto":
        reason = probe(device)
        if reason is not None:
            raise BackendUnavailable(f"--device {device} is not usable here: {reason}", HINTS[device])
        return provider_options(device, fp16=fp16)
    failures = []
    for candidate in ("tensorrt", "cuda"):
        reason = probe(candidate)
        if reason is None:
            log.info("device auto: using %s", PROVIDER_OF[candidate])
            return provider_options(candidate, fp16=fp16)
        failures.append(f"{candidate}: {reason}")
    log.info("device auto: using CPUExecutionProvider (%s)", "; ".join(failures))
    return provider_options("cpu")


def device_of(providers: list[Any]) -> str:
    """The device name (tensorrt|cuda|cpu) of a providers list's first entry."""
    first = providers[0][0] if isinstance(providers[0], tuple) else providers[0]
    return {v: k for k, v in PROVIDER_OF.items()}[first]
