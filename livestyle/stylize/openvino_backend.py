"""The OpenVINO CPU backend: the same ONNX files and stages as the ONNX Runtime stylizer, a faster CPU runtime.

Why it exists: on a 2-core CPU the network is the largest single cost of a frame. OpenVINO's CPU plugin runs the
bundled lite model 1.2x faster than ONNX Runtime in fp32 (same output to 1e-3 of a grey level) and about 2x
faster in bf16 on CPUs with native bf16 (AVX512-BF16, and AMX on recent Xeons), where its error is a fraction of a
grey level (docs/BENCHMARKS.md, issue 12's fourth pass). Only inference differs; preprocessing, postprocessing
and guided upsampling are the ONNX Runtime stylizer's own, so both backends produce the same frames around the net.

One compiled model per input shape: a static shape runs about 25% faster than OpenVINO's dynamic-shape path, and
compiling takes about 0.2 s, once per processing size.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from livestyle.errors import BackendUnavailable, ConfigError, ModelError
from livestyle.stylize.session import ModelSession, check_signature, default_threads
from livestyle.stylize.stylizer import Stylizer

log = logging.getLogger(__name__)

OPENVINO_HINT = "pip install openvino (or use --backend onnxruntime)"
PRECISIONS = ("fp32", "bf16")
_OV_TYPE = {"fp32": "f32", "bf16": "bf16"}
MAX_SHAPES = 4  # compiled models kept (least recently used dropped): a live run needs one


def require_openvino() -> Any:
    """Import openvino or raise ``BackendUnavailable`` with the install hint."""
    try:
        openvino = _import_without_telemetry()
    except ImportError:
        raise BackendUnavailable("--backend openvino needs OpenVINO, which is not installed", OPENVINO_HINT) from None
    except OSError as exc:  # a wheel whose shared libraries do not load
        reason = " ".join(str(exc).split())[:160]
        raise BackendUnavailable(f"--backend openvino: OpenVINO is installed but does not load ({reason})",
                                 OPENVINO_HINT) from None
    return openvino


def _import_without_telemetry() -> Any:
    """``import openvino`` with its telemetry package hidden: importing openvino otherwise loads openvino_telemetry,
    which starts a thread pool that outlives the pipeline and may send a usage event. Hidden, openvino falls back to
    its own no-op stub (``openvino.tools.ovc.telemetry_stub``); a video filter has no business sending events."""
    if "openvino" in sys.modules and sys.modules["openvino"] is not None:
        return sys.modules["openvino"]
    hidden = "openvino_telemetry" not in sys.modules
    if hidden:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # makes its import raise ImportError
    try:
        import openvino
    finally:
        if hidden:
            del sys.modules["openvino_telemetry"]
    return openvino


@functools.lru_cache(maxsize=1)
def openvino_usable() -> bool:
    """True when OpenVINO imports and has its CPU plugin (what ``--backend auto`` needs to pick it)."""
    try:
        return "CPU" in require_openvino().Core().available_devices
    except Exception as exc:  # noqa: BLE001 - any failure means "use ONNX Runtime instead"
        log.info("OpenVINO not usable (%s); using ONNX Runtime on the CPU", str(exc)[:160])
        return False


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX), so bf16 inference is a speed-up, not an
    emulation: OpenVINO lists BF16 among the CPU plugin's optimisation capabilities only then."""
    try:
        caps = require_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001
        return False
    return "BF16" in [str(c).upper() for c in caps]


def default_precision() -> str:
    """``LIVESTYLE_OV_PRECISION`` if set, else bf16 where the CPU has it natively, else fp32."""
    env = os.environ.get("LIVESTYLE_OV_PRECISION", "").strip().lower()
    if env:
        if env not in PRECISIONS:
            raise ConfigError(f"LIVESTYLE_OV_PRECISION={env!r} is not a precision: use one of {', '.join(PRECISIONS)}")
        return env
    return "bf16" if native_bf16() else "fp32"


class OpenVinoNet:
    """One ONNX model on OpenVINO's CPU plugin, compiled once per input shape; ``run(x)`` returns the output."""

    def __init__(self, path: Any, card: Any, *, threads: int, precision: str) -> None:
        ov = require_openvino()
        self.core = ov.Core()
        try:
            with _native_stderr_silenced():  # its ONNX reader logs a corrupt file's bytes straight to fd 2
                self.model = self.core.read_model(str(path))
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError subclasses with long texts
            text = "".join(c if c.isprintable() else " " for c in str(exc).encode("ascii", "replace").decode())
            reason = text.split("Exception from")[-1].split(":", 2)[-1].strip()[:100] or "unreadable"
            raise ModelError(f"{path} is not a valid ONNX model for OpenVINO ({reason}): re-export it") from None
        inputs = self.model.inputs
        port = inputs[0] if inputs else None
        pshape = port.get_partial_shape() if port is not None else None
        shape = [] if pshape is None or pshape.rank.is_dynamic else [
            d.get_length() if d.is_static else "?" for d in pshape]
        type_name = port.get_element_type().get_type_name() if port is not None else ""
        name = port.get_any_name() if port is not None else ""
        check_signature(card, path, n_inputs=len(inputs), input_name=name,
                        output_names=sorted(set().union(*(o.get_names() for o in self.model.outputs))),
                        shape=shape, input_type="float32" if type_name == "f32" else type_name)
        self.input_name = name
        self.output_name = card.output.name
        self.threads, self.precision = threads, precision
        self._compiled: OrderedDict[tuple[int, ...], tuple[Any, Any, Any]] = OrderedDict()

    def _request(self, shape: tuple[int, ...]) -> tuple[Any, Any]:
        hit = self._compiled.get(shape)
        if hit is not None:
            self._compiled.move_to_end(shape)
        else:
            model = self.model.clone()
            model.reshape({self.input_name: list(shape)})
            config = {"INFERENCE_NUM_THREADS": self.threads, "INFERENCE_PRECISION_HINT": _OV_TYPE[self.precision],
                      "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                      # The pipeline's other thread runs flow and blending: never pin inference to a core.
                      "ENABLE_CPU_PINNING": False}
            compiled = self.core.compile_model(model, "CPU", config)
            output = next((o for o in compiled.outputs if self.output_name in o.get_names()), compiled.outputs[0])
            hit = (compiled, compiled.create_infer_request(), output)
            self._compiled[shape] = hit
            while len(self._compiled) > MAX_SHAPES:  # a folder of photos of many sizes must not pile up models
                self._compiled.popitem(last=False)
            log.info("OpenVINO: compiled for %s (%s, %d threads)", shape, self.precision, self.threads)
        return hit[1], hit[2]

    def run(self, x: np.ndarray) -> np.ndarray:
        request, output = self._request(tuple(x.shape))
        request.infer({0: x})
        # The request reuses its output buffer on the next call: copy, because the pipeline keeps frames in flight.
        return np.array(request.get_tensor(output).data, copy=True)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment: native libraries write there behind Python's back."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_openvino_session(card: Any, device: str = "auto", threads: int | None = None,
                          precision: str | None = None) -> ModelSession:
    """The OpenVINO counterpart of ``session.open_session`` (CPU only): the same ``ModelSession`` fields, with
    an ``OpenVinoNet`` as the session."""
    if device not in ("auto", "cpu"):
        raise ConfigError(f"--backend openvino runs on the CPU: use --device cpu (or --backend onnxruntime for "
                          f"--device {device})")
    precision = precision or default_precision()
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r} is not available on OpenVINO: use one of {', '.join(PRECISIONS)}")
    path = card.verify("fp32")
    net = OpenVinoNet(path, card, threads=threads if threads and threads > 0 else default_threads(),
                      precision=precision)
    log.info("model %s (%s) on OpenVINO CPU", card.name, precision)
    return ModelSession(net, "cpu", f"OpenVINO CPU ({precision})", precision, net.input_name, card.output.name)


class OpenVinoStylizer(Stylizer):
    """The ONNX Runtime stylizer's stages with OpenVINO running the network (CPU only)."""

    def _open(self, device: str, threads: int | None, precision: str | None) -> ModelSession:
        return open_openvino_session(self.card, device=device, threads=threads, precision=precision)

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.session.run(tensor)

    def __repr__(self) -> str:
        return f"OpenVinoStylizer({self.card.name!r}, precision={self.precision!r})"
