"""Training precision: bf16 autocast and channels-last on CPUs with native bf16, as on CUDA.

On a CPU with AVX-512 BF16 or AMX (Intel Cooper Lake / Sapphire Rapids and later, AMD Zen 4 and later) oneDNN runs
bf16 convolutions much faster than fp32. Channels-last (NHWC) paid on top of that on a 2-core Xeon with AMX (the
issue: lite step 990 ms fp32, 675 bf16, 413 bf16 + channels-last) but not on this project's 2-core AMD EPYC
(AVX-512 BF16, no AMX: lite 908 / 577 / 588 ms, full 1422 / 832 / 941 ms, one thread, docs/TRAINING.md), so
``auto`` takes it on CUDA and on CPUs with AMX. Without native bf16, oneDNN emulates it and it is slower
than fp32, so ``auto`` only picks it where the CPU says it has it, or where a short measured probe shows it pays.
Weights and Adam state stay float32 (autocast casts per op), so checkpoints and the exported ONNX are unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from livestyle.errors import ConfigError

AMP_CHOICES = ("auto", "off", "bf16", "fp16")


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux), or None where that file does not exist."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def _probe_bf16_faster(repeats: int = 5) -> bool:
    """Time one VGG-sized convolution in fp32 and under bf16 autocast (channels-last); True if bf16 is 15% faster."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(2, 64, 96, 96).contiguous(memory_format=torch.channels_last)

    def best(bf16: bool) -> float:
        times = []
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            conv(x)  # warm-up (oneDNN primitive creation)
            for _ in range(repeats):
                t0 = time.perf_counter()
                conv(x)
                times.append(time.perf_counter() - t0)
        return min(times)

    return best(True) < 0.85 * best(False)


def cpu_has_amx() -> bool:
    """Whether the CPU has AMX tiles for bf16 (where channels-last measurably helped the CPU training step)."""
    flags = _cpu_flags()
    return bool(flags and "amx_bf16" in flags)


@functools.lru_cache(maxsize=1)
def cpu_bf16_native() -> bool:
    """Whether bf16 autocast makes this CPU's convolutions faster than fp32: with AMX yes; with AVX512-BF16 alone
    only if a short probe measures it (native bf16 instructions are not always faster there)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):  # pragma: no cover - very old or unusual builds
        return False
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return False
    flags = _cpu_flags()
    if flags is not None and "amx_bf16" in flags:
        return True
    if flags is not None and "avx512_bf16" not in flags:
        return False
    # AVX512-BF16 without AMX: measured, not assumed. On an AMD EPYC (Zen 4) bf16 paid; on a 2.3 GHz Xeon whose
    # hypervisor hides AMX, a full-model step took 1,040 ms in bf16 against 785 ms in fp32 (docs/TRAINING.md).
    return _probe_bf16_faster()


@dataclass(frozen=True)
class Precision:
    """How a training step runs: ``dtype`` of autocast (None: fp32), channels-last or not, a GradScaler or not."""

    device_type: str
    dtype: torch.dtype | None
    channels_last: bool
    scaler: Any = None

    @property
    def name(self) -> str:
        base = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]
        return base + ("+channels_last" if self.channels_last else "")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def format(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in the memory format the step uses (4-D tensors only)."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x


def choose_precision(device: torch.device, amp: str, channels_last: str = "auto") -> Precision:
    """The precision for ``--amp`` on ``device``: ``auto`` is bf16 where the hardware has it (CUDA with bf16, CPUs
    with AVX-512 BF16/AMX), fp16 + GradScaler on older GPUs, else fp32. ``channels_last`` ``auto``: on CUDA, and
    with bf16 on CPUs that have AMX."""
    if amp not in AMP_CHOICES:
        raise ConfigError(f"--amp {amp!r}: choose one of {', '.join(AMP_CHOICES)}")
    if channels_last not in ("auto", "on", "off"):
        raise ConfigError(f"--channels-last {channels_last!r}: choose auto, on or off")
    dtype: torch.dtype | None = None
    scaler = None
    if device.type == "cuda":
        if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
            dtype, scaler = torch.float16, torch.amp.GradScaler("cuda")
        elif amp in ("auto", "bf16"):
            dtype = torch.bfloat16
    else:
        if amp == "fp16":
            raise ConfigError("--amp fp16 is for CUDA GPUs; on a CPU use --amp bf16 (or auto)")
        if amp == "bf16" or (amp == "auto" and cpu_bf16_native()):
            dtype = torch.bfloat16
    if channels_last == "auto":
        cl = device.type == "cuda" or (dtype is not None and cpu_has_amx())
    else:
        cl = channels_last == "on"
    return Precision(device.type, dtype, cl, scaler)
