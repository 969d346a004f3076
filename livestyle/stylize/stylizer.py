"""The stylizer: RGB uint8 frame in, stylized RGB uint8 frame of the same size out.

Split into ``preprocess -> infer -> postprocess`` so the pipeline and the benchmark can time each stage.
The network runs at a *processing size* (``size``, ``scale``, or by default the card's
``recommended_size`` pixel budget when the frame is bigger, aspect kept), rounded to the model's
``size_multiple``; the result is brought back to the frame size with guided upsampling.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import ConfigError, ModelError
from livestyle.stylize.card import ModelCard
from livestyle.stylize.registry import find_model
from livestyle.stylize.session import ModelSession, open_session
from livestyle.stylize.upsample import METHODS, upsample


def check_processing_options(size: tuple[int, int] | None, scale: float | None, upsample: str) -> None:
    """Validate the options every stylizer backend shares, so each reports a bad value the same way."""
    if size is not None and scale is not None:
        raise ConfigError("give either a processing size or a scale, not both")
    if size is not None and (len(size) != 2 or min(size) < 8):
        raise ConfigError(f"processing size {size} is too small: use at least 8x8, e.g. 320x240")
    if scale is not None and not 0.05 <= scale <= 4.0:
        raise ConfigError(f"scale {scale} is out of range: use a value from 0.05 to 4")
    if upsample not in METHODS:
        raise ConfigError(f"unknown upsampling {upsample!r}: use one of {', '.join(METHODS)}")


class Stylizer:
    """Runs one model card on frames. ``provider`` says what the ONNX Runtime session actually got."""

    def __init__(self, card: ModelCard | str | Path, device: str = "auto", size: tuple[int, int] | None = None,
                 scale: float | None = None, threads: int | None = None, *, upsample: str = "guided",
                 precision: str | None = None) -> None:
        self.card = card if isinstance(card, ModelCard) else find_model(card)
        check_processing_options(size, scale, upsample)
        self.size, self.scale, self.upsample_method = size, scale, upsample
        ms = self._open(device, threads, precision)
        self._ms = ms
        self.session, self.device, self.provider, self.precision = ms.session, ms.device, ms.provider, ms.precision
        lo, hi = self.card.input.range
        self._in_scale, self._in_bias = (hi - lo) / 255.0, lo
        lo, hi = self.card.output.range
        self._out_scale, self._out_bias = 255.0 / (hi - lo), -lo * 255.0 / (hi - lo)
        self._binding = None
        self._pad = (0, 0)  # (right, bottom) reflect padding added by the last preprocess

    def _open(self, device: str, threads: int | None, precision: str | None) -> ModelSession:
        """The inference session; a subclass that runs the net on another runtime replaces this and ``infer``."""
        return open_session(self.card, device=device, threads=threads, precision=precision)

    # -- sizes --------------------------------------------------------------------------------------------
    def processing_size(self, width: int, height: int) -> tuple[int, int]:
        """The (w, h) the network runs at for a ``width`` x ``height`` frame (multiple of ``size_multiple``)."""
        m = self.card.size_multiple
        if self.size is not None:
            w, h = self.size
        elif self.scale is not None:
            w, h = width * self.scale, height * self.scale
        elif self.card.recommended_size and width * height > math.prod(self.card.recommended_size):
            return budget_size(width, height, self.card.recommended_size, m)
        else:
            return _ceil_to(width, m), _ceil_to(height, m)  # native: padded up, cropped after
        return _round_to(w, m), _round_to(h, m)

    def _is_padded(self, width: int, height: int) -> bool:
        """True when the frame runs at native size, reflect-padded up to the size multiple (no resampling)."""
        pw, ph = self.processing_size(width, height)
        m = self.card.size_multiple
        return 0 <= pw - width < m and 0 <= ph - height < m

    # -- stages -------------------------------------------------------------------------------------------
    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 HxWx3 -> model input tensor (1x3xhxw or 1xhxwx3 float32) at the processing size."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ConfigError(f"stylizer needs an RGB uint8 HxWx3 image, got "
                              f"{getattr(rgb, 'dtype', type(rgb).__name__)} {getattr(rgb, 'shape', '')}")
        h, w = rgb.shape[:2]
        pw, ph = self.processing_size(w, h)
        self._pad = (0, 0)
        if self._is_padded(w, h):
            img = rgb
            if (pw, ph) != (w, h):  # pad to the size multiple instead of resampling the whole frame
                img = cv2.copyMakeBorder(rgb, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT_101)
                self._pad = (pw - w, ph - h)
        elif pw * ph < w * h:
            img = _shrink(rgb, (pw, ph))
        else:
            img = cv2.resize(rgb, (pw, ph), interpolation=cv2.INTER_LINEAR)
        if self.card.input.color == "BGR":
            img = img[..., ::-1]
        x = img.astype(np.float32)
        if self._in_scale != 1.0 or self._in_bias != 0.0:
            x = x * np.float32(self._in_scale) + np.float32(self._in_bias)
        if self.card.input.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None])

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """Run the network; on CUDA through IO binding so the output is allocated on the device once."""
        if self.device == "cuda":
            return self._infer_bound(tensor)
        return self.session.run([self._ms.output_name], {self._ms.input_name: tensor})[0]

    def _infer_bound(self, tensor: np.ndarray) -> np.ndarray:
        binding = self._binding or self.session.io_binding()
        self._binding = binding
        binding.bind_cpu_input(self._ms.input_name, tensor)
        binding.bind_output(self._ms.output_name, "cuda")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def postprocess(self, tensor: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
        """Model output -> RGB uint8, cropped of padding and upsampled to ``like``'s size (guided by it)."""
        t = np.asarray(tensor)
        if t.ndim != 4 or t.shape[0] != 1:
            raise ModelError(f"model {self.card.name} returned shape {t.shape}; expected one 4-D image")
        chw = self.card.output.layout == "NCHW"
        if t.shape[1 if chw else 3] != 3:
            raise ModelError(f"model {self.card.name} returned shape {t.shape}, not 3 channels: re-export it")
        out = to_rgb8(t[0], self._out_scale, self._out_bias, chw=chw, bgr=self.card.output.color == "BGR")
        if like is None:
            pr, pb = self._pad
            return np.ascontiguousarray(out[: out.shape[0] - pb, : out.shape[1] - pr])
        h, w = like.shape[:2]
        if self._is_padded(w, h):  # derived from ``like``, so pre/post of different frames may interleave
            out = out[:h, :w]
        out = np.ascontiguousarray(out)
        return upsample(out, (w, h), guide=like, method=self.upsample_method)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.postprocess(self.infer(self.preprocess(rgb)), like=rgb)

    def prepare(self, width: int, height: int) -> None:
        """Run the network once on a black ``width`` x ``height`` frame before the first live one, so that frame does
        not pay for the runtime's one-time work (OpenVINO compiles per input shape, about 0.2 s; ONNX Runtime
        allocates its buffers) and the run's first latencies are not outliers."""
        self.infer(self.preprocess(np.zeros((height, width, 3), np.uint8)))

    def __repr__(self) -> str:
        return f"Stylizer({self.card.name!r}, provider={self.provider!r}, precision={self.precision!r})"


def to_rgb8(t: np.ndarray, scale: float, bias: float, *, chw: bool = True, bgr: bool = False) -> np.ndarray:
    """One image of network output (3xhxw if ``chw`` else hxwx3, float) -> contiguous RGB uint8 hxwx3 of
    ``t * scale + bias``, rounded and saturated; ``t`` is never modified.

    One OpenCV pass scales, rounds and saturates straight into uint8 and ``cv2.merge`` interleaves the planes:
    0.07 ms at 320x240 against 0.6 ms for the numpy version (float temporary, clip, astype, transposed copy;
    AMD EPYC 2.6 GHz, one thread). Rounding is OpenCV's (half to even), so exact .5 ties may differ by one
    level.
    """
    t = np.asarray(t, dtype=np.float32)
    flat = t.reshape(t.shape[0], -1)  # 2-D view: one cv2 call whatever the layout
    u8 = cv2.addWeighted(flat, float(scale), flat, 0.0, float(bias), dtype=cv2.CV_8U).reshape(t.shape)
    if chw:
        planes = list(u8[::-1] if bgr else u8)
        return cv2.merge(planes)
    return cv2.cvtColor(u8, cv2.COLOR_BGR2RGB) if bgr else u8


def _shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``rgb`` down to ``size`` (w, h): exact halvings first while the factor exceeds 2.

    OpenCV's area resize is fast for integer factors and slow for others: 1280x720 -> 368x208 directly takes
    3.5-4.6 ms of one core (AMD EPYC 2.6 GHz), halving to 640x360 first and then the rest 1.6-2.1 ms. Both are
    box averages (mean difference 1.7 grey levels); a factor of exactly 2 (640x480 -> 320x240) is left alone.
    """
    pw, ph = size
    img = rgb
    while True:
        h, w = img.shape[:2]
        if w % 2 or h % 2 or w < 2 * pw or h < 2 * ph or (w, h) == (2 * pw, 2 * ph):
            break
        img = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)


def budget_size(width: int, height: int, budget: tuple[int, int], multiple: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled to the pixel count of ``budget`` (aspect kept), sides rounded to ``multiple``:
    a 16:9 frame gets as many pixels as a 4:3 one, so the network's cost does not depend on the aspect."""
    f = math.sqrt(math.prod(budget) / (width * height))
    return _round_to(width * f, multiple), _round_to(height * f, multiple)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(value / multiple + 0.5) * multiple)  # round half up


def _ceil_to(value: int, multiple: int) -> int:
    return max(multiple, -(-int(value) // multiple) * multiple)
