"""Typed run configuration and the parsers that turn user strings into it.

The core (pipeline, bench) takes these frozen dataclasses, never an argparse Namespace, so it can be driven
from Python and tests alike. Every parser either returns a value or raises ``ConfigError`` with one line that
says what is wrong and what to write instead; the CLI and the fuzz tests rely on that.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livestyle.errors import ConfigError

if TYPE_CHECKING:  # the temporal package owns its config; we only carry it
    from livestyle.temporal import TemporalConfig

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")
# auto: ONNX Runtime on a GPU, OpenVINO on the CPU (ONNX Runtime without it); torch: pip install 'livestyle[torch]'
BACKENDS: tuple[str, ...] = ("auto", "onnxruntime", "openvino", "torch")
TORCH_MODES: tuple[str, ...] = ("graphs", "compile", "eager")  # how the torch backend runs the net on CUDA
MASK_MODES: tuple[str, ...] = ("none", "background", "person")
# How the blender remaps the previous output (livestyle.temporal.warp.INTERPOLATIONS, minus "nearest", which tears).
WARP_MODES: tuple[str, ...] = ("cubic", "linear")
SINK_SPEC_KINDS: tuple[str, ...] = ("preview", "vcam", "file", "folder", "http")

MIN_SIDE, MAX_SIDE = 8, 16384
MAX_SCALE = 4.0

_SIZE_RE = re.compile(r"^\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*$")


def _shown(text: str, limit: int = 40) -> str:
    """A user string made safe for a one-line message (no newlines, bounded length)."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 4] + "...'"


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> ``(640, 480)``; each side in [8, 16384]."""
    m = _SIZE_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ConfigError(f"bad size {_shown(str(text))}: write WIDTHxHEIGHT, e.g. 640x480")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ConfigError(f"bad size {w}x{h}: each side must be between {MIN_SIDE} and {MAX_SIDE}")
    return w, h


def _parse_float(text: str, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"bad {what} {_shown(str(text))}: expected a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"bad {what} {_shown(str(text))}: expected a finite number")
    return value


def parse_scale(text: str) -> float:
    """Processing scale relative to the capture size, in (0, 4]."""
    value = _parse_float(text, "scale")
    if not 0.0 < value <= MAX_SCALE:
        raise ConfigError(f"bad scale {value:g}: must be > 0 and <= {MAX_SCALE:g} (e.g. 0.5)")
    return value


def parse_strength(text: str, what: str = "strength") -> float:
    """A mix strength in [0, 1] (0 = off, 1 = full)."""
    value = _parse_float(text, what)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"bad {what} {value:g}: must be between 0 and 1")
    return value


def _choice(text: str, choices: tuple[str, ...], what: str) -> str:
    """One word from a fixed list, case-insensitive; anything else is one clear line naming the choices."""
    value = text.strip().lower() if isinstance(text, str) else ""
    if value not in choices:
        raise ConfigError(f"bad {what} {_shown(str(text))}: choose one of {', '.join(choices)}")
    return value


def parse_device(text: str) -> str:
    return _choice(text, DEVICES, "device")


def parse_backend(text: str) -> str:
    """The inference backend: ``auto`` (default), ``onnxruntime``, ``openvino`` (CPU) or ``torch`` (optional)."""
    return _choice(text, BACKENDS, "backend")


def parse_torch_mode(text: str) -> str:
    """How the torch backend runs on CUDA: ``graphs`` (CUDA graphs), ``compile`` (torch.compile + graphs), ``eager``."""
    return _choice(text, TORCH_MODES, "torch mode")


def parse_mask(text: str) -> str:
    return _choice(text, MASK_MODES, "mask mode")


def parse_warp(text: str) -> str:
    return _choice(text, WARP_MODES, "warp mode")


def parse_port(text: str, allow_zero: bool = False) -> int:
    """A TCP port in [1, 65535] (0 too when ``allow_zero``: the system picks a free one)."""
    value = text.strip() if isinstance(text, str) else ""
    low = 0 if allow_zero else 1
    if not value.isascii() or not value.isdigit() or len(value) > 5 or not low <= int(value) <= 65535:
        raise ConfigError(f"bad port {_shown(str(text))}: expected a number from {low} to 65535, e.g. 8080")
    return int(value)


def parse_positive_int(text: str, what: str = "count") -> int:
    value = text.strip() if isinstance(text, str) else ""
    if not value.isascii() or not value.isdigit() or len(value) > 12 or int(value) < 1:
        raise ConfigError(f"bad {what} {_shown(str(text))}: expected a whole number >= 1")
    return int(value)


def parse_styles(text: str) -> tuple[str, ...]:
    """``"a,b,c"`` -> ``("a", "b", "c")``: model names or paths preloaded for live switching."""
    names = tuple(part.strip() for part in str(text).split(",") if part.strip())
    if not names:
        raise ConfigError(f"bad style list {_shown(str(text))}: write model names separated by commas")
    return names


@dataclass(frozen=True)
class SinkSpec:
    """A validated sink spec; ``str(spec)`` is what ``open_sink`` takes."""

    kind: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


def parse_sink_spec(text: str) -> SinkSpec:
    """``preview``, ``vcam[:DEVICE]``, ``file:PATH``, ``folder:DIR`` or ``http:PORT`` (0 = any free port)."""
    raw = text.strip() if isinstance(text, str) else ""
    kind, sep, target = raw.partition(":")
    kind = kind.lower()
    hint = "use preview, vcam, file:PATH, folder:DIR or http:PORT"
    if kind == "preview":
        if sep and target:
            raise ConfigError(f"bad sink {_shown(raw)}: 'preview' takes no argument; {hint}")
        return SinkSpec(kind)
    if kind == "vcam":
        if any(c in target for c in "\0\n\r"):
            raise ConfigError(f"bad sink {_shown(raw)}: write vcam or vcam:/dev/videoN")
        return SinkSpec(kind, target.strip())
    if kind in ("file", "folder"):
        if not target.strip() or any(c in target for c in "\0\n\r"):
            raise ConfigError(f"bad sink {_shown(raw)}: '{kind}:' needs a path, e.g. {kind}:out"
                              + (".mp4" if kind == "file" else ""))
        return SinkSpec(kind, target)
    if kind == "http":
        return SinkSpec(kind, str(parse_port(target, allow_zero=True)))
    raise ConfigError(f"bad sink {_shown(raw)}: {hint}")


@dataclass(frozen=True)
class SourceConfig:
    """``spec`` as ``open_source`` takes it; None means ``default_source()`` (webcam, else the sample clip)."""

    spec: str | None = None
    size: tuple[int, int] | None = None  # capture size, if the source can be asked for one


@dataclass(frozen=True)
class ModelConfig:
    """Which model(s) and how to run them. ``size``/``scale`` set the stylizer's processing size."""

    model: str | None = None  # name or path; None = default_model()
    styles: tuple[str, ...] = ()  # extra models preloaded for live switching
    device: str = "auto"
    size: tuple[int, int] | None = None
    scale: float | None = None
    threads: int | None = None  # inference threads (ORT, OpenVINO); None = pipeline picks (1 if pipelined)
    backend: str = "auto"  # auto | onnxruntime | openvino | torch
    torch_mode: str | None = None  # torch backend only: graphs (default) | compile | eager

    def __post_init__(self) -> None:
        if self.size is not None and self.scale is not None:
            raise ConfigError("give either a processing size or a scale, not both")
        parse_device(self.device)
        parse_backend(self.backend)
        if self.torch_mode is not None:
            parse_torch_mode(self.torch_mode)
            if self.backend != "torch":
                raise ConfigError(f"--torch-mode {self.torch_mode} needs --backend torch")
        if self.backend == "torch" and self.device == "tensorrt":
            raise ConfigError("--device tensorrt needs --backend onnxruntime: the torch backend runs on cuda or cpu")
        if self.backend == "openvino" and self.device not in ("auto", "cpu"):
            raise ConfigError(f"--device {self.device} needs --backend onnxruntime: the openvino backend runs "
                              "on the cpu")


@dataclass(frozen=True)
class SinkConfig:
    specs: tuple[SinkSpec, ...] = ()  # empty = default_sink_spec()
    host: str = "127.0.0.1"
    token: str | None = None


@dataclass(frozen=True)
class EffectsConfig:
    strength: float = 1.0  # mix of stylized over original
    preserve_colors: bool = False
    mask: str = "none"  # none | background | person

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"bad strength {self.strength:g}: must be between 0 and 1")
        parse_mask(self.mask)


@dataclass(frozen=True)
class RunConfig:
    source: SourceConfig = field(default_factory=SourceConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    temporal: "TemporalConfig | None" = None  # None = TemporalConfig() defaults
    effects: EffectsConfig = field(default_factory=EffectsConfig)
    sinks: SinkConfig = field(default_factory=SinkConfig)
    max_frames: int | None = None
    pipelined: bool = True
    prefetch: bool = False  # read-ahead thread for finite sources (offline throughput; +1 frame of latency)


@dataclass(frozen=True)
class BenchConfig:
    """``livestyle bench``: the run to measure plus how long to measure it."""

    run: RunConfig = field(default_factory=lambda: RunConfig(source=SourceConfig("synth:640x480")))
    frames: int = 200
    warmup: int = 20

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of what was measured."""
        r = self.run
        t = r.temporal
        return {
            "source": r.source.spec, "capture_size": r.source.size, "model": r.model.model,
            "styles": list(r.model.styles), "backend": r.model.backend, "torch_mode": r.model.torch_mode,
            "device": r.model.device, "processing_size": r.model.size,
            "scale": r.model.scale, "threads": r.model.threads,
            "temporal": None if t is None else {"enabled": getattr(t, "enabled", None),
                                                "strength": getattr(t, "strength", None),
                                                "flow_preset": getattr(t, "flow_preset", None),
                                                "flow_prior": getattr(t, "flow_prior", None),
                                                "interpolation": getattr(t, "interpolation", None)},
            "strength": r.effects.strength, "preserve_colors": r.effects.preserve_colors,
            "mask": r.effects.mask, "sinks": [str(s) for s in r.sinks.specs],
            "pipelined": r.pipelined, "prefetch": r.prefetch, "frames": self.frames, "warmup": self.warmup,
        }
