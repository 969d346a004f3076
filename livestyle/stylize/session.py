"""One ONNX Runtime session per model: options tuned for small CPUs, the model checked against its card."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from livestyle.errors import BackendUnavailable, ModelError
from livestyle.stylize.card import ModelCard
from livestyle.stylize.providers import HINTS, PROVIDER_OF, _quiet_session, choose_providers, device_of, ort_reason

log = logging.getLogger(__name__)


@dataclass
class ModelSession:
    """A live ORT session plus what it actually runs on (``device``/``provider``) and which file it loaded."""

    session: Any
    device: str
    provider: str
    precision: str
    input_name: str
    output_name: str


def default_threads() -> int:
    """Intra-op threads: ``LIVESTYLE_THREADS`` if set, else all cores but one (at least 1).

    The pipeline runs flow and capture beside inference, so leaving a core free keeps them from stalling
    the network (measured on a 2-core box: docs/TEMPORAL.md).
    """
    env = os.environ.get("LIVESTYLE_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def session_options(threads: int | None = None) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads if threads and threads > 0 else default_threads()
    so.inter_op_num_threads = 1
    # Spinning threads burn the core that flow/capture need; on a busy 2-core box they cost more than they save.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return so


def open_session(card: ModelCard, device: str = "auto", threads: int | None = None,
                 precision: str | None = None) -> ModelSession:
    """Create the session for ``card`` on ``device``; raise ``ModelError`` for a bad model file.

    precision None picks the file by provider: the fp16 variant on CUDA (half the memory traffic), fp32
    on TensorRT (TensorRT builds its own fp16 engine with ``trt_fp16_enable`` and fuses better from fp32),
    fp32 on the CPU (fp16 runs slower there).
    """
    providers = choose_providers(device, fp16=True)
    dev = device_of(providers)
    if precision is None:
        precision = "fp16" if dev == "cuda" and card.has("fp16") else "fp32"
    path = card.verify(precision)
    try:
        sess = _quiet_session(str(path), providers, session_options(threads))
    except Exception as exc:  # noqa: BLE001 - ORT raises InvalidProtobuf/Fail/RuntimeError subclasses
        first = ort_reason(exc)
        if "protobuf" in first.lower() or "load model" in first.lower() or "invalid" in first.lower():
            raise ModelError(f"{path} is not a valid ONNX model ({first[:120]}): re-export it") from None
        if dev != "cpu":
            raise BackendUnavailable(f"{PROVIDER_OF[dev]} failed on {path.name} ({first[:120]})",
                                     HINTS[dev]) from None
        raise ModelError(f"{path} cannot be loaded by ONNX Runtime ({first[:120]}): re-export it") from None
    got = sess.get_providers()
    if PROVIDER_OF[dev] not in got:
        # The probe passed but this model's session did not get the provider: never degrade silently.
        raise BackendUnavailable(f"{PROVIDER_OF[dev]} did not load for {path.name} (got {', '.join(got)})",
                                 HINTS.get(dev, "use --device cpu"))
    log.info("model %s (%s) on %s", card.name, precision, got[0])
    in_name, out_name = _check_io(sess, card, path)
    return ModelSession(sess, dev, got[0], precision, in_name, out_name)


def _check_io(sess: Any, card: ModelCard, path) -> tuple[str, str]:
    inputs, outputs = sess.get_inputs(), sess.get_outputs()
    inp = inputs[0] if inputs else None
    check_signature(card, path, n_inputs=len(inputs), input_name=inp.name if inp else "",
                    output_names=[o.name for o in outputs], shape=list(inp.shape) if inp else [],
                    input_type=inp.type if inp else "")
    return inp.name, card.output.name


def check_signature(card: ModelCard, path, *, n_inputs: int, input_name: str, output_names: list[str],
                    shape: list[Any], input_type: str) -> None:
    """Raise ``ModelError`` unless the model takes one float32 4-D image with 3 channels, named as its card says,
    and has the card's output. Both runtimes call it with what their loaded model reports (a dimension that is not
    an ``int`` is dynamic), so a bad file fails the same way on either."""
    if n_inputs != 1 or not output_names:
        raise ModelError(f"{path.name} has {n_inputs} inputs and {len(output_names)} outputs: a style model takes "
                         "one image tensor and returns one; re-export it")
    if card.input.name != input_name:
        raise ModelError(f"{path.name} input is named {input_name!r} but its card says {card.input.name!r}: "
                         "fix input.name in the card")
    if card.output.name not in output_names:
        raise ModelError(f"{path.name} has no output {card.output.name!r} (it has {', '.join(output_names)}): "
                         "fix output.name in the card")
    if len(shape) != 4:
        raise ModelError(f"{path.name} input has rank {len(shape)} ({shape}); a style model needs a 4-D image "
                         "tensor: re-export it")
    channels = shape[1] if card.input.layout == "NCHW" else shape[3]
    if isinstance(channels, int) and channels != 3:
        raise ModelError(f"{path.name} input has {channels} channel{'s' if channels != 1 else ''}, not 3 ({card.input.layout} {shape}): "
                         "re-export it or fix input.layout in the card")
    if "float" not in input_type or "16" in input_type:
        raise ModelError(f"{path.name} input type is {input_type}, the card promises float32: re-export it")
