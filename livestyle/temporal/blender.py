"""Temporal blending: the one object that holds temporal state (previous input and previous output).

output_t = c * warp(output_{t-1}) + (1 - c) * stylized_t, with c = strength * confidence, where the warp
follows the optical flow of the *input* frames and the confidence is 0 at occlusions, flow failures and
lighting changes. Scene cuts and size changes reset the state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from livestyle.errors import ConfigError
from livestyle.temporal.flow import PRESETS, DISFlow, choose_init, small_gray
from livestyle.temporal.occlusion import fb_consistency, gauss_table, photometric_confidence
from livestyle.temporal.warp import INTERPOLATIONS, backward_warp, warp_by_flow

log = logging.getLogger(__name__)

# Scene cut: at most this fraction of forward-backward consistent pixels (cuts measured 0-0.33, pans 0.64-1.0 on
# the clips of tools/eval_motion.py and cuts between them, docs/TEMPORAL.md).
CUT_CONSISTENT = 0.5
# Flow (small-frame pixels) that sensor noise alone produces on a still scene with DIS "fine" (max 1.2-1.4 px at 320
# px wide with noise sigma 2); below it, on pixels that did not change, the flow is set to zero.
NOISE_FLOW = 1.5


@dataclass(frozen=True)
class TemporalConfig:
    """Knobs of the blender. ``strength`` is the weight of the warped past where the flow is trusted.

    flow_width: width of the grey frames the flow runs on; flow_preset: DIS preset ("fine": see flow.py);
    flow_prior: start DIS, region by region, from the previous flow, a pan's global shift or no motion, whichever
    fits best (large motion); fb_check: forward-backward consistency (a second flow; off saves ~40% of flow time);
    fb_scale: the finest DIS pyramid level of that second flow (0 = the flow frame itself, 2 = a quarter of
    its width) and fb_stride: its patch spacing; both coarser is cheaper but loosens the consistency mask
    (warping error +14 to +39%, docs/TEMPORAL.md), so by default (None) the second flow reuses the first flow's
    estimator and settings, whatever the preset;
    photo_sigma: grey-level scale of the photometric confidence; scene_cut: mean motion-compensated grey
    difference above which the state resets, if (with fb_check) the flow is also mostly inconsistent (a cut, not
    a fast pan); interpolation: remap of the previous output ("cubic" keeps
    texture detail over many frames where "linear" blurs it); still_px: flows below this (full-res pixels)
    snap to zero so a still camera is not resampled every frame; still_gain/noise_level: where the
    motion-compensated input changed by no more than sensor noise (grey levels on the small frame), the
    weight of the past rises towards ``min(0.95, strength * still_gain)``, since an unchanged input should
    give an unchanged output (this is what holds a still scene's flicker under 1.5 grey levels).
    keep_detail/max_detail_gain: averaging two frames whose fine strokes do not line up (style networks
    redraw them a little differently every frame) lowers their contrast; this restores the local
    high-frequency energy of the blend to that of the fresh stylized frame, amplifying the blended (so
    temporally stable) detail by at most ``max_detail_gain`` (a variance-preserving blend). detail_luma: restore
    the grey band only (1.1 ms less at 640x480, same grey detail, but colour detail -46%: docs/BENCHMARKS.md).
    """

    enabled: bool = True
    strength: float = 0.85
    flow_width: int = 320
    flow_preset: str = "fine"
    flow_prior: bool = True
    fb_check: bool = True
    fb_scale: int | None = None
    fb_stride: int | None = None
    photo_sigma: float = 25.0
    scene_cut: float = 20.0
    interpolation: str = "cubic"
    still_px: float = 0.25
    still_gain: float = 1.3
    noise_level: float = 2.0
    keep_detail: bool = True
    max_detail_gain: float = 1.8
    detail_luma: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength < 1.0:
            raise ConfigError(f"temporal strength {self.strength} is out of range: use 0 (off) to 0.95")
        if not 32 <= self.flow_width <= 4096:
            raise ConfigError(f"flow width {self.flow_width} is out of range: use 32 to 4096 (e.g. 192)")
        if self.flow_preset not in PRESETS:
            raise ConfigError(f"unknown flow preset {self.flow_preset!r}: use one of {', '.join(PRESETS)}")
        if self.interpolation not in INTERPOLATIONS:
            raise ConfigError(f"unknown interpolation {self.interpolation!r}: use one of {', '.join(INTERPOLATIONS)}")
        if self.photo_sigma <= 0 or self.scene_cut <= 0 or self.still_px < 0 or self.noise_level <= 0:
            raise ConfigError("temporal photo_sigma, scene_cut and noise_level must be > 0, still_px >= 0")
        if not 1.0 <= self.max_detail_gain <= 4.0:
            raise ConfigError(f"temporal max_detail_gain {self.max_detail_gain} is out of range: use 1 to 4")
        if self.fb_scale is not None and not 0 <= self.fb_scale <= 3:
            raise ConfigError(f"temporal fb_scale {self.fb_scale} is out of range: use 0 to 3")
        if self.fb_stride is not None and not 1 <= self.fb_stride <= 16:
            raise ConfigError(f"temporal fb_stride {self.fb_stride} is out of range: use 1 to 16 (pixels)")
        if not 1.0 <= self.still_gain <= 2.0:
            raise ConfigError(f"temporal still_gain {self.still_gain} is out of range: use 1 (off) to 2")


@dataclass(frozen=True)
class Motion:
    """Flow from the current input frame back to the previous one (small scale) and how far to trust it."""

    flow: np.ndarray          # h x w x 2 float32, current -> previous, in small-frame pixels
    confidence: np.ndarray    # h x w float32: weight of the warped past relative to ``strength`` (0 .. still_gain)
    frame_size: tuple[int, int]  # (W, H) of the full-resolution frames
    still: bool = False       # the whole flow is below still_px: warp is the identity


class TemporalBlender:
    """Blends each stylized frame with the previous output warped along the input's optical flow."""

    def __init__(self, config: TemporalConfig | None = None) -> None:
        self.config = config or TemporalConfig()
        self._flow = DISFlow(self.config.flow_preset)
        cfg = self.config
        self._flow_check = self._flow if cfg.fb_scale is None and cfg.fb_stride is None else DISFlow(
            cfg.flow_preset, finest_scale=cfg.fb_scale, patch_stride=cfg.fb_stride)
        self._prev_gray: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None
        self._prev_flow: np.ndarray | None = None
        self.cuts = 0

    def reset(self) -> None:
        """Forget the past (new source, scene cut, style change)."""
        self.reset_motion()
        self._prev_output = None

    def reset_motion(self) -> None:
        """Forget the input side only. The next ``estimate_motion`` returns None, so the next ``blend`` starts
        afresh from its frame: enough for a reset, and it leaves ``blend``'s state to the thread that blends
        (the pipeline may estimate motion on another thread, a frame ahead)."""
        self._prev_gray = None
        self._prev_flow = None

    def estimate_motion(self, frame_rgb: np.ndarray) -> Motion | None:
        """Flow previous->current input plus confidence; None on the first frame or after a scene cut.

        Needs only input frames, so it can run while the stylizer works on the same frame.
        """
        if not self.config.enabled:
            return None
        H, W = frame_rgb.shape[:2]
        gray = small_gray(frame_rgb, self.config.flow_width)
        prev, self._prev_gray = self._prev_gray, gray
        if prev is None or prev.shape != gray.shape:
            self._prev_flow = None
            return None
        init = choose_init(gray, prev, self._prev_flow) if self.config.flow_prior else None
        # Where the input did not change by more than sensor noise and the flow is small, the motion is zero: a fine
        # flow fits the noise of a still scene (up to 1.2 px here), which would resample the still picture and fail
        # the forward-backward check. Large flows on unchanged pixels are flat areas that move: they stay.
        unchanged = cv2.compare(cv2.blur(cv2.absdiff(gray, prev), (3, 3)), self.config.noise_level, cv2.CMP_LE)
        flow_bw = self._flow(gray, prev, init)
        small = cv2.compare(cv2.magnitude(flow_bw[..., 0], flow_bw[..., 1]), NOISE_FLOW, cv2.CMP_LT)
        unchanged = cv2.bitwise_and(unchanged, small)
        cv2.subtract(flow_bw, flow_bw, dst=flow_bw, mask=unchanged)  # zero there (numpy masking: 0.8 ms)
        self._prev_flow = flow_bw
        warped = backward_warp(prev, flow_bw, "linear")
        diff = cv2.absdiff(gray, warped)
        residual = float(diff.mean())
        consistent = None
        if self.config.fb_check:
            flow_fw = self._flow_check(prev, gray, None if init is None else -init)
            cv2.subtract(flow_fw, flow_fw, dst=flow_fw, mask=unchanged)
            consistent = fb_consistency(flow_bw, flow_fw, half=True)
        # A cut leaves a large residual *and* a flow that does not agree with itself forward and backward; a fast
        # pan may leave a large residual where the flow fails, but most of its flow stays consistent.
        if residual > self.config.scene_cut and (consistent is None or float(consistent.mean()) < CUT_CONSISTENT):
            self.cuts += 1
            log.debug("scene cut (residual %.1f grey levels): temporal state reset", residual)
            self._prev_flow = None  # motion None: the next blend starts afresh (its state is the blender's)
            return None
        conf = photometric_confidence(gray, warped, self.config.photo_sigma)
        if self.config.still_gain > 1.0:
            gain = np.float32(1.0) + np.float32(self.config.still_gain - 1.0) * gauss_table(self.config.noise_level)
            conf *= cv2.LUT(cv2.blur(diff, (3, 3)), gain)
        if consistent is not None:
            conf *= consistent
        scale = W / gray.shape[1]
        still = float(np.abs(flow_bw).max()) * scale < self.config.still_px
        return Motion(flow=flow_bw, confidence=conf, frame_size=(W, H), still=still)

    def blend(self, stylized_rgb: np.ndarray, motion: Motion | None) -> np.ndarray:
        """Mix ``stylized_rgb`` with the warped previous output where ``motion`` is trusted; store the result."""
        if not self.config.enabled:
            return stylized_rgb
        H, W = stylized_rgb.shape[:2]
        prev = self._prev_output
        if motion is None or prev is None or prev.shape != stylized_rgb.shape or motion.frame_size != (W, H) \
                or self.config.strength == 0.0:
            self._prev_output = stylized_rgb
            return stylized_rgb
        warped = prev if motion.still else warp_by_flow(prev, motion.flow, self.config.interpolation)
        # weight of the past: scaled and capped on the small grid, then one resize (no full-size float passes)
        c = cv2.min(motion.confidence * np.float32(self.config.strength), 0.95)
        c = cv2.resize(c, (W, H), interpolation=cv2.INTER_LINEAR)
        # cv2.blendLinear does the per-pixel weighted sum in one pass on uint8 (7x faster than numpy here).
        out = cv2.blendLinear(warped, stylized_rgb, c, cv2.subtract(1.0, c))
        if self.config.keep_detail and not motion.still:
            # Only where the scene moves: on still pixels the detail lost by averaging is amplified sensor noise.
            moving = cv2.magnitude(*cv2.split(motion.flow)) * np.float32(W / motion.flow.shape[1])
            np.clip(moving, 0.0, 1.0, out=moving)
            out = restore_detail(out, stylized_rgb, moving, self.config.max_detail_gain,
                                 luma_only=self.config.detail_luma)
        self._prev_output = out
        return out

    def __call__(self, frame_rgb: np.ndarray, stylized_rgb: np.ndarray) -> np.ndarray:
        return self.blend(stylized_rgb, self.estimate_motion(frame_rgb))


def _high_band(rgb: np.ndarray, small: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    # grey, blur and high band in 8/16-bit integers: one full-size float array (the squared band) instead of four
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    hp = cv2.subtract(g, cv2.GaussianBlur(g, (5, 5), 1.0), dtype=cv2.CV_16S)
    energy = cv2.resize(cv2.multiply(hp, hp, dtype=cv2.CV_32F), small, interpolation=cv2.INTER_AREA)
    return energy, hp  # local energy at ``small``, the grey high band at full size


def _high_band_energy(rgb: np.ndarray, small: tuple[int, int]) -> np.ndarray:
    return _high_band(rgb, small)[0]


def restore_detail(blended: np.ndarray, reference: np.ndarray, weight: np.ndarray,
                   max_gain: float = 1.8, luma_only: bool = False) -> np.ndarray:
    """Scale the fine band of ``blended`` so its local energy matches ``reference`` (gain 1..max_gain).

    Works on grey energy at the resolution of ``weight`` (h x w in [0, 1], how much of the gain to apply),
    then one unsharp step at full size: ``out = blended + (g - 1) * (blended - blur(blended))``. ``luma_only``
    adds the grey band to the three channels instead: the same grey result without a colour blur and blend.
    """
    small = (weight.shape[1], weight.shape[0])
    e_ref = _high_band_energy(reference, small)
    e_out, hp = _high_band(blended, small)
    gain = np.sqrt((e_ref + 1.0) / (e_out + 1.0))
    np.clip(gain, 1.0, max_gain, out=gain)
    gain = 1.0 + (gain - 1.0) * weight
    H, W = blended.shape[:2]
    if luma_only:
        k = cv2.resize(gain - np.float32(1.0), (W, H), interpolation=cv2.INTER_LINEAR)
        d = cv2.multiply(hp, k, dtype=cv2.CV_32F)
        return cv2.add(blended, cv2.cvtColor(d, cv2.COLOR_GRAY2RGB), dtype=cv2.CV_8U)
    g = cv2.resize(gain, (W, H), interpolation=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(blended, (5, 5), 1.0)
    return cv2.blendLinear(blended, soft, g, 1.0 - g)  # weights sum to 1; saturates to 0..255
