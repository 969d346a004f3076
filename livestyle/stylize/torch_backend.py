"""The optional torch backend: the card's network rebuilt in PyTorch, the whole frame path on the GPU.

Why it exists: ONNX Runtime's CPU build (the only one some GPU machines have) cannot use the GPU, and even with
the CUDA provider every frame crosses the host twice as float32 and the resize/upsample runs on the CPU. Here the
uint8 frame is uploaded once (pinned memory, non-blocking), converted, resized or padded, run through the network
in fp16 channels-last (replayed as a CUDA graph), upsampled with the same guided model as the CPU path, rounded to
uint8 and downloaded once.

The network is rebuilt from the card's ``architecture`` block (:mod:`livestyle.stylize.torch_nets`) and its weights
are read from the card's fp32 ONNX initializers, so a bundled model needs no extra file; every tensor must match by
name and shape or the model is refused (``ModelError``). On the CPU the same class runs in fp32, which is what the
tests compare against ONNX Runtime.

Imported only when ``--backend torch`` is chosen (:func:`livestyle.stylize.backends.open_stylizer`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from livestyle.config import TORCH_MODES
from livestyle.errors import BackendUnavailable, ConfigError, ModelError
from livestyle.stylize.card import ModelCard
from livestyle.stylize.registry import find_model
from livestyle.stylize.stylizer import Stylizer, check_processing_options
from livestyle.stylize.torch_nets import NetConfig, TransformerNet, count_params

log = logging.getLogger(__name__)

CUDA_HINT = "install a CUDA build of PyTorch (https://pytorch.org/get-started/locally/), or use --device cpu"
GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights, as cv2.COLOR_RGB2GRAY


# --------------------------------------------------------------------------------------------------- weights


def load_initializers(path: Path) -> dict[str, np.ndarray]:
    """Name -> array of every initializer in an ONNX file: with ``onnx`` when it is installed, else with
    :func:`read_initializers` (the GPU image and a plain ``livestyle[torch]`` install have no ``onnx``)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return read_initializers(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError and friends
        raise ModelError(f"{path} is not a valid ONNX model ({type(exc).__name__}): re-export it") from None
    out: dict[str, np.ndarray] = {}
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelError(f"{path.name}: initializer {t.name!r} is stored in an external file, which the torch "
                             "backend does not read: re-export with the weights inside the model")
        out[t.name] = numpy_helper.to_array(t)
    return out


# ONNX protobuf field numbers (onnx/onnx.proto): ModelProto.graph, GraphProto.initializer, TensorProto fields.
_MODEL_GRAPH, _GRAPH_INITIALIZER = 7, 5
_T_DIMS, _T_TYPE, _T_FLOATS, _T_NAME, _T_RAW, _T_LOCATION = 1, 2, 4, 8, 9, 14
_ONNX_DTYPES = {1: "<f4", 10: "<f2", 11: "<f8", 6: "<i4", 7: "<i8"}


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or oversized varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: memoryview) -> Any:
    """Yield (field number, wire type, value) of one protobuf message; value is an int or a memoryview."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > end:
            raise ValueError("truncated message")
        yield field, wire, value


def _tensor_proto(buf: memoryview, where: str) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    dtype, name, raw, floats, external = 0, "", None, [], False
    for field, wire, value in _fields(buf):
        if field == _T_DIMS:
            if wire == 2:  # packed
                pos = 0
                while pos < len(value):
                    d, pos = _varint(value, pos)
                    dims.append(d)
            else:
                dims.append(value)
        elif field == _T_TYPE:
            dtype = value
        elif field == _T_FLOATS:
            floats.append(np.frombuffer(value, dtype="<f4"))
        elif field == _T_NAME:
            name = bytes(value).decode("utf-8", "replace")
        elif field == _T_RAW:
            raw = value
        elif field == _T_LOCATION:
            external = value == 1
    if external:
        raise ModelError(f"{where}: initializer {name!r} is stored in an external file, which the torch backend "
                         "does not read: re-export with the weights inside the model")
    if dtype not in _ONNX_DTYPES:
        raise ModelError(f"{where}: initializer {name!r} has ONNX data type {dtype}, which the torch backend "
                         "does not read: use the fp32 model file")
    if raw is not None:
        arr = np.frombuffer(raw, dtype=_ONNX_DTYPES[dtype])
    elif dtype == 1:
        arr = np.concatenate(floats) if floats else np.zeros(0, np.float32)
    else:
        raise ModelError(f"{where}: initializer {name!r} stores type {dtype} outside raw_data: re-export it")
    count = int(np.prod(dims)) if dims else 1
    if arr.size != count:
        raise ModelError(f"{where}: initializer {name!r} has {arr.size} values for shape {dims}: re-export it")
    return name, arr.reshape(dims).astype(arr.dtype.newbyteorder("="), copy=True)


def read_initializers(path: Path) -> dict[str, np.ndarray]:
    """Initializers of an ONNX file read straight from the protobuf wire format (no ``onnx`` package needed)."""
    try:
        data = memoryview(Path(path).read_bytes())
    except OSError as exc:
        raise ModelError(f"{path} cannot be read ({type(exc).__name__}): check the file") from None
    out: dict[str, np.ndarray] = {}
    try:
        for field, wire, graph in _fields(data):
            if field != _MODEL_GRAPH or wire != 2:
                continue
            for gfield, gwire, tensor in _fields(graph):
                if gfield == _GRAPH_INITIALIZER and gwire == 2:
                    name, arr = _tensor_proto(tensor, Path(path).name)
                    out[name] = arr
    except ValueError as exc:
        raise ModelError(f"{path} is not a valid ONNX model ({exc}): re-export it") from None
    return out


def build_net(card: ModelCard) -> TransformerNet:
    """The card's network in fp32 eval mode with the weights of its fp32 ONNX file; refuses any mismatch."""
    arch = card.architecture
    where = f"model card {card.card_path.name}"
    if not arch.get("channels"):
        raise ModelError(f"{where}: architecture {arch.get('arch', '?')!r} cannot be rebuilt by the torch backend "
                         "(it rebuilds TransformerNet cards such as the bundled -full and -lite models): "
                         "use --backend onnxruntime")
    try:
        net = TransformerNet(NetConfig.from_dict(arch))
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{where}: architecture cannot be rebuilt ({' '.join(str(exc).split())[:120]}): "
                         "fix the card or use --backend onnxruntime") from None
    params = arch.get("params")
    if isinstance(params, int) and params != count_params(net):
        raise ModelError(f"{where}: the rebuilt network has {count_params(net)} parameters, the card says {params}: "
                         "the card's architecture does not describe this model; re-export it")
    path = card.verify("fp32")
    weights = load_initializers(path)
    state = net.state_dict()
    missing = [k for k in state if k not in weights]
    unexpected = [k for k in weights if k not in state]
    wrong = [f"{k} {tuple(weights[k].shape)} != {tuple(state[k].shape)}" for k in state
             if k in weights and tuple(weights[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        parts = [f"{label} {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
                 for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                 if items]
        raise ModelError(f"{path.name} does not match the architecture in {card.card_path.name} "
                         f"({'; '.join(parts)}): re-export the model or fix the card")
    net.load_state_dict({k: torch.from_numpy(np.array(weights[k], dtype=np.float32)) for k in state})
    return net.eval()


class Fp32InstanceNorm(nn.Module):
    """Instance norm computed in float32 whatever the activation dtype.

    The same guard as the fp16 ONNX export (tools/export.py keeps InstanceNormalization in float32): the variance
    is a mean of squares, which must not be formed in float16. The cast costs one read and write per norm.
    """

    def __init__(self, norm: nn.InstanceNorm2d) -> None:
        super().__init__()
        self.eps = float(norm.eps)
        self.register_buffer("weight", None if norm.weight is None else norm.weight.detach().float().clone())
        self.register_buffer("bias", None if norm.bias is None else norm.bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.instance_norm(x.float(), weight=self.weight, bias=self.bias, eps=self.eps)
        return y.to(x.dtype).contiguous(memory_format=torch.channels_last) if x.dtype != torch.float32 else y


def to_precision(net: nn.Module, dtype: torch.dtype, device: torch.device, channels_last: bool) -> nn.Module:
    """Move ``net`` to ``device``/``dtype``; in half precision every InstanceNorm2d becomes :class:`Fp32InstanceNorm`."""
    net = net.to(device=device, dtype=dtype)
    if dtype != torch.float32:
        for parent in list(net.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.InstanceNorm2d):
                    setattr(parent, name, Fp32InstanceNorm(child))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net.eval()


# --------------------------------------------------------------------------------------------------- image ops


def box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Normalised (2r+1)^2 box filter with a reflect-101 border, as ``cv2.boxFilter``'s default."""
    if radius <= 0:
        return x
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode=mode), 2 * radius + 1, stride=1)


_AREA_CACHE: dict[tuple[int, int, str], torch.Tensor] = {}


def area_matrix(n_in: int, n_out: int, device: torch.device) -> torch.Tensor:
    """(n_out, n_in) weights of exact area averaging (``cv2.INTER_AREA`` when shrinking): output cell i covers
    input [i*s, (i+1)*s), s = n_in / n_out, each input pixel weighted by its overlap. ``F.interpolate(mode="area")``
    is adaptive pooling over whole pixels, which for 322 -> 320 averages pixel pairs and blurs the frame."""
    key = (n_in, n_out, str(device))
    m = _AREA_CACHE.get(key)
    if m is None:
        s = n_in / n_out
        lo = np.arange(n_out)[:, None] * s
        j = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(lo + s, j + 1) - np.maximum(lo, j), 0, None) / s
        m = _AREA_CACHE[key] = torch.from_numpy(overlap.astype(np.float32)).to(device)
    return m


def resize(x: torch.Tensor, size_hw: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize NCHW float like OpenCV: exact area averaging when the frame shrinks (``cv2.INTER_AREA``, two small
    matrix products), else ``mode`` interpolation with half-pixel centres (``cv2.INTER_LINEAR``'s convention)."""
    h, w = x.shape[-2:]
    oh, ow = size_hw
    if (h, w) == (oh, ow):
        return x
    if oh * ow < h * w and oh <= h and ow <= w:
        x = x.float()
        if ow != w:
            x = x @ area_matrix(w, ow, x.device).T
        if oh != h:
            x = area_matrix(h, oh, x.device) @ x
        return x
    return F.interpolate(x, size=size_hw, mode=mode, align_corners=False)


def grey(rgb: torch.Tensor) -> torch.Tensor:
    """Nx3xHxW RGB -> Nx1xHxW luma (BT.601, as ``cv2.COLOR_RGB2GRAY``)."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return r * GREY[0] + g * GREY[1] + b * GREY[2]


def detail_upsample(low: torch.Tensor, guide: torch.Tensor, radius: int = 2, eps: float = 1e-3) -> torch.Tensor:
    """GPU twin of :func:`livestyle.stylize.upsample.detail_upsample` ("guided", the default), float 0..255 NCHW:
    bilinear ``low`` plus the guide's high band the low-res run never saw, scaled by the local slope ``a``."""
    h, w = low.shape[-2:]
    size = tuple(guide.shape[-2:])
    g_full = (grey(guide) + 0.5).floor()  # rounded half up like OpenCV's uint8 grey and resize
    g_low = (resize(g_full, (h, w)) + 0.5).floor()
    mean_g = box(g_low, radius)
    var_g = box(g_low * g_low, radius) - mean_g * mean_g + eps * 255.0 * 255.0
    cov = box(low * g_low, radius) - box(low, radius) * mean_g
    a = box(cov / var_g, radius)
    band = g_full - resize(g_low, size)
    return resize(low, size) + resize(a, size) * band


def guided_upsample(low: torch.Tensor, guide: torch.Tensor, radius: int = 2, eps: float = 1e-3) -> torch.Tensor:
    """GPU twin of :func:`livestyle.stylize.upsample.guided_upsample` ("fgf", He & Sun 2015), float 0..255 NCHW."""
    h, w = low.shape[-2:]
    size = tuple(guide.shape[-2:])
    g_full = grey(guide) * (1.0 / 255.0)
    g = resize(g_full, (h, w))
    p = low * (1.0 / 255.0)
    mean_g = box(g, radius)
    var_g = box(g * g, radius) - mean_g * mean_g
    mean_p = box(p, radius)
    a = (box(p * g, radius) - mean_p * mean_g) / (var_g + eps)
    b = mean_p - a * mean_g
    ab = resize(torch.cat([box(a, radius), box(b, radius)], dim=1), size)
    return (ab[:, :3] * g_full + ab[:, 3:]) * 255.0


def upsample(low: torch.Tensor, size_hw: tuple[int, int], guide: torch.Tensor | None, method: str) -> torch.Tensor:
    """The torch counterpart of :func:`livestyle.stylize.upsample.upsample` (same method names, same fallbacks)."""
    h, w = low.shape[-2:]
    if (h, w) == tuple(size_hw):
        return low
    if (method in ("guided", "fgf") and guide is not None and tuple(guide.shape[-2:]) == tuple(size_hw)
            and w < size_hw[1] and h < size_hw[0]):
        return guided_upsample(low, guide) if method == "fgf" else detail_upsample(low, guide)
    return resize(low, size_hw, mode="bicubic" if method == "bicubic" else "bilinear")


# --------------------------------------------------------------------------------------------------- stylizer


@dataclass
class TorchBatch:
    """What travels preprocess -> infer -> postprocess: the tensor plus the frame already on the device (the
    upsampling guide), so postprocess never uploads the frame a second time."""

    tensor: torch.Tensor  # 1x3xhxw at the processing size (network input, then network output)
    frame: torch.Tensor | None  # HxWx3 uint8 on the device
    pad: tuple[int, int] = (0, 0)  # (right, bottom) reflect padding added by preprocess


def resolve_device(device: str) -> torch.device:
    """auto -> cuda when torch sees a GPU, else cpu; an explicit cuda that is not there raises ``BackendUnavailable``
    (never a silent CPU fallback)."""
    d = (device or "auto").strip().lower()
    if d == "tensorrt":
        raise ConfigError("--device tensorrt needs --backend onnxruntime: the torch backend runs on cuda or cpu")
    if d not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}: the torch backend runs on auto, cpu or cuda")
    if d == "cpu":
        return torch.device("cpu")
    with warnings.catch_warnings():  # "CUDA initialization: ..." warnings would break the one-line error
        warnings.simplefilter("ignore")
        available = torch.cuda.is_available()
    if available:
        return torch.device("cuda", torch.cuda.current_device())
    if d == "auto":
        log.info("torch backend, device auto: no CUDA device visible, using the CPU")
        return torch.device("cpu")
    if torch.version.cuda is None:
        raise BackendUnavailable(f"--backend torch --device cuda is not usable here: PyTorch {torch.__version__} "
                                 "is a CPU-only build", CUDA_HINT)
    raise BackendUnavailable(f"--backend torch --device cuda is not usable here: PyTorch {torch.__version__} sees "
                             "no CUDA device", "it needs an NVIDIA GPU and its driver (check nvidia-smi), "
                             "or use --device cpu")


class TorchStylizer:
    """The :class:`~livestyle.stylize.stylizer.Stylizer` interface on PyTorch: same stages, sizes and rounding.

    ``mode`` (CUDA only): ``graphs`` replays the network as a CUDA graph captured per processing size (re-captured
    when it changes); ``compile`` runs ``torch.compile`` first, then captures; ``eager`` does neither. A capture
    or compile that fails falls back to eager with a warning. Every stage ends with a stream synchronisation, so
    the pipeline's per-stage timers measure GPU time rather than kernel-launch time.
    """

    backend = "torch"

    # One sizing rule for both backends: the same processing size, padding and cropping as the ORT stylizer.
    processing_size = Stylizer.processing_size
    _is_padded = Stylizer._is_padded

    def __init__(self, card: ModelCard | str | Path, device: str = "auto", size: tuple[int, int] | None = None,
                 scale: float | None = None, threads: int | None = None, *, upsample: str = "guided",
                 precision: str | None = None, mode: str = "graphs") -> None:
        self.card = card if isinstance(card, ModelCard) else find_model(card)
        check_processing_options(size, scale, upsample)
        if mode not in TORCH_MODES:
            raise ConfigError(f"unknown torch mode {mode!r}: choose one of {', '.join(TORCH_MODES)}")
        if self.card.input.layout != "NCHW" or self.card.output.layout != "NCHW":
            raise ModelError(f"model card {self.card.card_path.name}: the torch backend runs NCHW networks, the card "
                             "says otherwise: use --backend onnxruntime")
        self.size, self.scale, self.upsample_method = size, scale, upsample
        self.torch_device = resolve_device(device)
        self.device = self.torch_device.type
        cuda = self.device == "cuda"
        if precision is None:
            precision = "fp16" if cuda else "fp32"
        if precision not in ("fp16", "fp32"):
            raise ConfigError(f"unknown precision {precision!r}: use fp16 or fp32")
        if precision == "fp16" and not cuda:
            raise ConfigError("fp16 with the torch backend needs --device cuda; on the CPU it runs fp32")
        self.precision = precision
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        if not cuda and threads:
            torch.set_num_threads(int(threads))  # process-wide: torch has no per-model thread pool
        if cuda:
            torch.backends.cudnn.benchmark = True  # one algorithm search per input shape, then the fastest kernels
        self.channels_last = cuda
        self.net = to_precision(build_net(self.card), self.dtype, self.torch_device, self.channels_last)
        self.mode = mode
        self._forward: Callable[[torch.Tensor], torch.Tensor] = self.net
        if mode == "compile":
            try:
                self._forward = torch.compile(self.net, dynamic=False)
            except Exception as exc:  # noqa: BLE001 - e.g. no compiler toolchain on this platform
                self._fall_back("torch.compile", exc)
        self._graphs = cuda and mode in ("graphs", "compile")
        self._graph: Any = None
        self._graph_shape: tuple[int, ...] | None = None
        self._static_in: torch.Tensor | None = None
        self._static_out: torch.Tensor | None = None
        lo, hi = self.card.input.range
        self._in_scale, self._in_bias = (hi - lo) / 255.0, lo
        lo, hi = self.card.output.range
        self._out_scale, self._out_bias = 255.0 / (hi - lo), -lo * 255.0 / (hi - lo)
        self._pad = (0, 0)

    # -- description ----------------------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        """What actually runs, in the spirit of ORT's provider name (e.g. for the bench table)."""
        if self.device == "cuda":
            name = torch.cuda.get_device_name(self.torch_device)
            run = "cuda-graphs" if self._graphs else "eager"
            if self.mode == "compile" and self._forward is not self.net:
                run = "compile+" + run
            return f"TorchCUDA ({name}, {self.precision}, channels_last, {run})"
        return f"TorchCPU ({self.precision}, {torch.get_num_threads()} threads)"

    def _fall_back(self, what: str, exc: BaseException) -> None:
        log.warning("%s failed (%s); %s runs eagerly", what, " ".join(str(exc).split())[:160], self.card.name)
        if what == "torch.compile":
            self._forward = self.net
        self._graphs = False
        self._graph = self._static_in = self._static_out = None

    def _sync(self) -> None:
        if self.device == "cuda":
            torch.cuda.current_stream(self.torch_device).synchronize()

    # -- transfers ------------------------------------------------------------------------------------------
    def _upload(self, rgb: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 -> the device, once: through pinned memory and a non-blocking copy on CUDA (the caching host
        allocator keeps the pinned block until the copy has finished)."""
        if self.device != "cuda":
            return torch.from_numpy(np.ascontiguousarray(rgb))
        host = torch.empty(rgb.shape, dtype=torch.uint8, pin_memory=True)
        host.numpy()[...] = rgb
        return host.to(self.torch_device, non_blocking=True)

    def _download(self, hwc: torch.Tensor) -> np.ndarray:
        """HxWx3 uint8 on the device -> a numpy array, once (pinned buffer, one synchronisation)."""
        if self.device != "cuda":
            return hwc.contiguous().numpy()
        host = torch.empty(hwc.shape, dtype=torch.uint8, pin_memory=True)
        host.copy_(hwc, non_blocking=True)
        self._sync()
        return host.numpy()

    # -- stages ---------------------------------------------------------------------------------------------
    def preprocess(self, rgb: np.ndarray) -> TorchBatch:
        """RGB uint8 HxWx3 -> network input on the device at the processing size (padded or resized there)."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ConfigError(f"stylizer needs an RGB uint8 HxWx3 image, got "
                              f"{getattr(rgb, 'dtype', type(rgb).__name__)} {getattr(rgb, 'shape', '')}")
        h, w = rgb.shape[:2]
        pw, ph = self.processing_size(w, h)
        with torch.no_grad():
            frame = self._upload(rgb)
            x = frame.permute(2, 0, 1)[None].float()
            pad = (0, 0)
            if self._is_padded(w, h):
                if (pw, ph) != (w, h):  # pad to the size multiple instead of resampling the whole frame
                    mode = "reflect" if min(w, h) > max(pw - w, ph - h) else "replicate"
                    x = F.pad(x, (0, pw - w, 0, ph - h), mode=mode)
                    pad = (pw - w, ph - h)
            else:  # rounded like the CPU path's uint8 resize, so both backends feed the network the same values
                x = (resize(x, (ph, pw)) + 0.5).floor_()
            if self.card.input.color == "BGR":
                x = x.flip(1)
            if self._in_scale != 1.0 or self._in_bias != 0.0:
                x = x * self._in_scale + self._in_bias
            x = x.to(self.dtype)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
        self._pad = pad
        self._sync()
        return TorchBatch(x, frame, pad)

    def infer(self, batch: TorchBatch | torch.Tensor) -> TorchBatch:
        """Run the network (a CUDA graph replay when enabled). The output is a fresh tensor, never the graph's
        static buffer, because the pipeline may postprocess it while the next frame is already inferring."""
        if isinstance(batch, torch.Tensor):
            batch = TorchBatch(batch.to(self.torch_device), None, self._pad)
        x = batch.tensor.to(self.dtype)
        with torch.no_grad():
            y = None
            if self._graphs:
                try:
                    self._capture(x)
                except Exception as exc:  # noqa: BLE001 - capture errors are RuntimeErrors of many kinds
                    self._fall_back("CUDA graph capture", exc)
                else:
                    assert self._static_in is not None and self._static_out is not None
                    self._static_in.copy_(x)
                    self._graph.replay()
                    y = self._static_out.clone()
            if y is None:
                y = self._eager(x)
        self._sync()
        return TorchBatch(y, batch.frame, batch.pad)

    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self._forward(x)
        except Exception as exc:  # noqa: BLE001 - a compile error shows up at the first call
            if self._forward is self.net:
                raise
            self._fall_back("torch.compile", exc)
            return self.net(x)

    def _capture(self, x: torch.Tensor) -> None:
        """Capture the network for ``x``'s shape once (and again only when the processing size changes)."""
        shape = tuple(x.shape)
        if self._graph is not None and self._graph_shape == shape:
            return
        self._graph = self._static_in = self._static_out = None  # free the old size's memory pool first
        static_in = torch.empty_like(x).copy_(x)
        side = torch.cuda.Stream(self.torch_device)
        side.wait_stream(torch.cuda.current_stream(self.torch_device))
        with torch.cuda.stream(side):  # warm-up: cuDNN autotuning and (compile mode) compilation, outside capture
            for _ in range(3):
                self._eager(static_in)
        torch.cuda.current_stream(self.torch_device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: the output thread may still be postprocessing the previous frame while we capture
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            static_out = self._forward(static_in)
        self._graph, self._graph_shape = graph, shape
        self._static_in, self._static_out = static_in, static_out
        log.info("%s: CUDA graph captured for %s", self.card.name, "x".join(map(str, shape)))

    def postprocess(self, tensor: TorchBatch | torch.Tensor, like: np.ndarray | None = None) -> np.ndarray:
        """Network output -> RGB uint8: scaled, rounded, cropped of padding and upsampled to ``like``'s size (guided
        by the frame uploaded in preprocess) on the device, then downloaded once."""
        batch = tensor if isinstance(tensor, TorchBatch) else TorchBatch(torch.as_tensor(tensor), None, self._pad)
        t = batch.tensor
        if t.ndim != 4 or t.shape[0] != 1 or t.shape[1] != 3:
            raise ModelError(f"model {self.card.name} returned shape {tuple(t.shape)}; expected 1x3xHxW")
        with torch.no_grad():
            y = t.to(self.torch_device).float()
            if self._out_scale != 1.0 or self._out_bias != 0.0:
                y = y * self._out_scale + self._out_bias
            y = (y + 0.5).floor_().clamp_(0, 255)  # the ORT path's rounding: floor(x + 0.5), then clip
            if self.card.output.color == "BGR":
                y = y.flip(1)
            if like is None:
                pr, pb = batch.pad
                y = y[..., : y.shape[-2] - pb, : y.shape[-1] - pr]
            else:
                h, w = like.shape[:2]
                if self._is_padded(w, h):
                    y = y[..., :h, :w]
                if tuple(y.shape[-2:]) != (h, w):
                    guide = batch.frame
                    if guide is None or tuple(guide.shape[:2]) != (h, w):
                        guide = self._upload(like)
                    g = guide.permute(2, 0, 1)[None].float()
                    y = (upsample(y, (h, w), g, self.upsample_method) + 0.5).floor_().clamp_(0, 255)
            out = y.to(torch.uint8)[0].permute(1, 2, 0)
            if self.channels_last:
                out = out.contiguous()
            result = self._download(out)
        return result

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.postprocess(self.infer(self.preprocess(rgb)), like=rgb)

    def __repr__(self) -> str:
        return f"TorchStylizer({self.card.name!r}, provider={self.provider!r}, precision={self.precision!r})"
