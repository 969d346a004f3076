"""Person mask for every frame: MediaPipe's selfie segmentation (converted to ONNX) run in ONNX Runtime.

The network runs at its own small size (256x144 by default, ~1.5 ms on one CPU thread) whatever the frame size,
so masking costs a few milliseconds per frame; the mask is stabilised over time and edge-snapped at frame size
(see ``stabilise``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import BackendUnavailable, ConfigError, ModelError
from livestyle.resources import bundled_dir
from livestyle.segment.stabilise import MaskStabiliser, fast_guided_upsample

log = logging.getLogger(__name__)

MODELS_DIR = bundled_dir("models")  # inside the installed package, or the clone's models/
DEFAULT_MODEL = MODELS_DIR / "selfie_segmentation.onnx"
NATIVE_SIZE = (256, 144)   # (w, h) the bundled landscape model was trained at
SIZE_MULTIPLE = 16         # four stride-2 stages: other sizes break the skip connections
DEVICES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def _native_size(model_path: Path, session) -> tuple[int, int]:
    """(w, h) from the card beside the model, else the ONNX input's static dims, else the bundled default."""
    card = model_path.with_suffix(".json")
    if card.is_file():
        try:
            w, h = json.loads(card.read_text(encoding="utf-8"))["input"]["native_size"]
            return int(w), int(h)
        except (ValueError, KeyError, TypeError):
            log.warning("segmentation card %s has no input.native_size; using the model's shape", card)
    dims = session.get_inputs()[0].shape
    if len(dims) == 4 and isinstance(dims[2], int) and isinstance(dims[3], int):
        return int(dims[3]), int(dims[2])
    return NATIVE_SIZE


def downscale(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased shrink to ``size`` (w, h): bilinear to twice the target, then an exact 2x area average.

    Same look as one INTER_AREA resize (mean abs difference < 0.3 grey levels) at about a third of the cost on
    non-integer ratios (0.28 vs 0.74 ms for 640x480 -> 256x144), since OpenCV's area path is only fast for
    integer factors.
    """
    w, h = size
    if rgb.shape[1] > 2 * w and rgb.shape[0] > 2 * h:
        rgb = cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


class PersonSegmenter:
    """``segmenter(frame_rgb, flow=None) -> float32 HxW`` person probability in [0, 1] at frame size.

    ``size`` (w, h), multiples of 16, is the network's input size (default: the model's native 256x144).
    ``stabilise`` turns temporal smoothing + hysteresis on (default) or off (raw per-frame masks);
    ``refine`` snaps the upsampled mask to image edges with a fast guided filter (off by default: it costs
    ~0.8 ms and adds a little edge flicker from sensor noise, docs/SEGMENTATION.md); ``every`` = n runs the network
    on one frame in n and carries the last mask along ``flow`` in between (cheaper, slightly laggier).
    """

    def __init__(self, model_path: str | Path | None = None, size: tuple[int, int] | None = None,
                 device: str = "cpu", *, threads: int = 1, stabilise: bool = True, refine: bool = False,
                 every: int = 1, smoothing: float = 0.7, guided_radius: int = 2, guided_eps: float = 3e-2) -> None:
        path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise ModelError(f"segmentation model {path} not found: restore models/selfie_segmentation.onnx "
                             "or pass the path of a converted model (tools/convert_selfie.py)")
        if device not in DEVICES:
            raise ConfigError(f"segmentation device {device!r} is not supported: use one of {', '.join(DEVICES)}")
        if every < 1:
            raise ConfigError(f"segmentation interval {every} must be >= 1 (1 = every frame)")
        import onnxruntime as ort

        provider = DEVICES[device]
        if provider not in ort.get_available_providers():
            raise BackendUnavailable(f"segmentation on {device}", "install onnxruntime-gpu with CUDA, or use cpu")
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), so, providers=[provider])
        except Exception as exc:  # ORT raises its own exception types for corrupt / non-ONNX files
            raise ModelError(f"segmentation model {path} cannot be loaded ({type(exc).__name__}): "
                             "re-create it with tools/convert_selfie.py") from None
        self.provider = self._session.get_providers()[0]
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        self.model_path = path
        self.native_size = _native_size(path, self._session)
        self.size = tuple(size) if size is not None else self.native_size
        w, h = self.size
        if w <= 0 or h <= 0 or w % SIZE_MULTIPLE or h % SIZE_MULTIPLE:
            raise ConfigError(f"segmentation size {w}x{h} must be positive multiples of {SIZE_MULTIPLE}, "
                              f"e.g. {self.native_size[0]}x{self.native_size[1]}")
        self.stabiliser = MaskStabiliser(smoothing=smoothing) if stabilise else None
        self.refine = refine
        self.every = int(every)
        self.guided_radius = guided_radius
        self.guided_eps = guided_eps
        self._count = 0
        self._held: np.ndarray | None = None   # last small mask (for every > 1)

    def reset(self) -> None:
        """Forget the temporal state (new source, scene cut)."""
        self._count = 0
        self._held = None
        if self.stabiliser is not None:
            self.stabiliser.reset()

    def infer(self, small_rgb: np.ndarray) -> np.ndarray:
        """Raw network probability (float32 h x w) for an RGB uint8 image already at ``self.size``."""
        x = cv2.dnn.blobFromImage(small_rgb, scalefactor=1.0 / 255.0)  # HWC uint8 -> NCHW float32 in one pass
        return self._session.run([self._output], {self._input: x})[0][0, 0]

    def small(self, frame_rgb: np.ndarray, flow: np.ndarray | None = None,
              confidence: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(stabilised mask, network input) both at ``self.size``; the core of ``__call__`` without upsampling."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 HxWx3 frame, got {frame_rgb.dtype} {frame_rgb.shape}")
        small_rgb = downscale(frame_rgb, self.size)
        run = self._held is None or self._count % self.every == 0
        self._count += 1
        if run:
            prob = self.infer(small_rgb)
            mask = self.stabiliser(prob, flow, confidence) if self.stabiliser is not None else prob
        elif flow is not None and self.stabiliser is not None:
            mask = self.stabiliser._warp(self._held, flow)  # carry the held mask along the motion
        else:
            mask = self._held
        self._held = mask
        return mask, small_rgb

    def __call__(self, frame_rgb: np.ndarray, flow: np.ndarray | None = None,
                 confidence: np.ndarray | None = None) -> np.ndarray:
        """Person probability at frame size, float32 in [0, 1].

        ``flow`` is optional backward flow current->previous frame (``TemporalBlender``'s ``Motion.flow``, any
        resolution): the previous mask is warped along it before smoothing; ``confidence`` its 0..1 trust.
        """
        mask, small_rgb = self.small(frame_rgb, flow, confidence)
        h, w = frame_rgb.shape[:2]
        if not self.refine:
            return cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        guide_small = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255)
        # a 3x3 box on the full-size guide keeps sensor noise out of the mask (it cut still-scene edge flicker
        # from 0.0074 to 0.0023 in tools/eval_segment.py --still)
        gray = cv2.blur(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY), (3, 3))
        guide_full = gray.astype(np.float32) * np.float32(1 / 255)
        return fast_guided_upsample(mask, guide_small, guide_full, self.guided_radius, self.guided_eps)
