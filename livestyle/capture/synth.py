"""Synthetic scenes with known motion, so tests and benchmarks run anywhere and the temporal code is checkable.

The moving scene is a periodic texture seen through a camera that translates and slowly rotates, plus a textured
disc that moves on its own path. Every frame is one ``cv2.warpAffine`` of a precomputed texture and one masked copy,
so it costs about 1 ms at 640x480 and can feed a 30 FPS benchmark. The exact optical flow between consecutive
frames is known analytically and exposed as ``last_flow`` (forward) and ``last_flow_backward``.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from livestyle.frames import Frame

_DEFAULT_FPS = 30.0


def make_texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful, periodic (tileable) RGB texture with detail at several scales.

    Periodic so that ``BORDER_WRAP`` never shows a seam; several scales so optical flow has something to lock onto.
    """
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    radius[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width))
        spectrum /= radius**1.1  # roughly 1/f: natural-image-like statistics
        spectrum[0, 0] = 0.0
        spectrum[radius > 0.25] = 0.0
        field = np.fft.ifft2(spectrum).real
        field = (field - field.mean()) / (field.std() + 1e-9)
        channels.append(field)
    image = np.stack(channels, axis=-1)
    # Mix channels so colours are correlated like real scenes, then add a fine periodic grid for sharp edges.
    mix = np.array([[0.8, 0.3, 0.1], [0.2, 0.8, 0.3], [0.1, 0.3, 0.8]])
    image = image @ mix.T
    yy, xx = np.mgrid[0:height, 0:width]
    checker = ((xx // 16 + yy // 16) % 2).astype(np.float64) * 2.0 - 1.0
    image += 0.35 * checker[..., None]
    image = 128.0 + 42.0 * image
    return np.clip(image, 0, 255).astype(np.uint8)


def _texture_side(width: int, height: int) -> int:
    side = 256
    while side < 1.5 * max(width, height):
        side *= 2
    return side


class SynthSource:
    """``synth:WxH``: a moving textured scene with a moving object and known flow.

    After each ``read()``, ``last_flow`` is the forward flow from the previous frame to this one (HxWx2 float32,
    ``prev(x, y)`` moves to ``(x, y) + flow[y, x]`` in the current frame, OpenCV's convention for
    ``calcOpticalFlowFarneback(prev, cur)``) and ``last_flow_backward`` the flow from this frame back to the previous
    one (``cur(x, y)`` came from ``(x, y) + flow_b[y, x]``; what ``cv2.remap`` needs to warp the previous frame onto
    this one). Both are computed only when asked for. ``last_object_mask`` marks the object in the current frame.
    Infinite unless ``frames`` is given.
    """

    is_live = False

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = _DEFAULT_FPS,
        frames: int | None = None,
        seed: int = 0,
        velocity: tuple[float, float] = (2.3, 1.1),
        rotation_deg: float = 3.0,
        rotation_period: float = 240.0,
        object_speed: float = 4.0,
    ) -> None:
        self._w, self._h = int(width), int(height)
        self._fps = float(fps)
        self._limit = frames
        self._velocity = velocity
        self._rot_amp = math.radians(rotation_deg)
        self._rot_period = rotation_period
        side = _texture_side(self._w, self._h)
        # RGBA: OpenCV's warpAffine has a SIMD path for 4 channels that is ~3x faster than for 3, even with the
        # conversion back to RGB afterwards.
        self._texture = cv2.cvtColor(make_texture(side, side, seed), cv2.COLOR_RGB2RGBA)
        self._out = np.empty((self._h, self._w, 4), np.uint8)
        # The object: a textured disc with a hard mask (so its flow is exact).
        self._radius = max(4, min(self._w, self._h) // 8)
        r = self._radius
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        self._sprite_mask = (xx * xx + yy * yy) <= r * r
        stripes = ((xx + yy) // 4 % 2).astype(np.uint8)
        sprite = np.empty((2 * r + 1, 2 * r + 1, 3), np.uint8)
        sprite[..., 0] = 230 - 150 * stripes
        sprite[..., 1] = 60 + 140 * stripes
        sprite[..., 2] = 40 + 40 * ((xx // 6) % 2)
        self._sprite = sprite
        self._object_speed = object_speed
        self._index = 0
        self._prev_state: tuple[np.ndarray, tuple[int, int]] | None = None
        self._state: tuple[np.ndarray, tuple[int, int]] | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._closed = False

    # -- FrameSource -------------------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return (self._w, self._h)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return 0

    @property
    def frame_count(self) -> int | None:
        return self._limit

    def read(self) -> Frame | None:
        if self._closed or (self._limit is not None and self._index >= self._limit):
            return None
        t = self._index
        matrix = self._camera_matrix(t)
        cv2.warpAffine(
            self._texture,
            matrix[:2],
            (self._w, self._h),
            dst=self._out,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_WRAP,
        )
        image = cv2.cvtColor(self._out, cv2.COLOR_RGBA2RGB)
        centre = self._object_centre(t)
        self._paste_object(image, centre)
        self._prev_state, self._state = self._state, (matrix, centre)
        self._index += 1
        return Frame(image=image, index=t, timestamp=time.perf_counter())

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "SynthSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- known motion ------------------------------------------------------------------------------------------
    def _camera_matrix(self, t: int) -> np.ndarray:
        """3x3 map from frame pixel to texture (world) pixel at time t."""
        angle = self._rot_amp * math.sin(2.0 * math.pi * t / self._rot_period)
        c, s = math.cos(angle), math.sin(angle)
        cx, cy = self._w / 2.0, self._h / 2.0
        ox = 37.0 + self._velocity[0] * t
        oy = 23.0 + self._velocity[1] * t
        # world = R (p - c) + c + o
        return np.array(
            [[c, -s, cx - c * cx + s * cy + ox], [s, c, cy - s * cx - c * cy + oy], [0.0, 0.0, 1.0]],
            dtype=np.float64,
        )

    def _object_centre(self, t: int) -> tuple[int, int]:
        r = self._radius
        span_x = max(1.0, self._w / 2.0 - r - 2)
        span_y = max(1.0, self._h / 2.0 - r - 2)
        # A Lissajous path whose top speed is about ``object_speed`` px/frame.
        wx = self._object_speed / span_x
        wy = 0.7 * self._object_speed / span_y
        x = self._w / 2.0 + span_x * math.sin(wx * t + 0.3)
        y = self._h / 2.0 + span_y * math.sin(wy * t + 1.1)
        return int(round(x)), int(round(y))

    def _object_window(self, centre: tuple[int, int]) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """(frame slices, sprite slices) of the object's bounding box clipped to the frame; None if off-frame."""
        r = self._radius
        x0, y0 = centre[0] - r, centre[1] - r
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(self._w, x0 + 2 * r + 1), min(self._h, y0 + 2 * r + 1)
        if cx0 >= cx1 or cy0 >= cy1:
            return None
        return (slice(cy0, cy1), slice(cx0, cx1)), (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))

    def _paste_object(self, image: np.ndarray, centre: tuple[int, int]) -> None:
        window = self._object_window(centre)
        if window is not None:
            frame_box, sprite_box = window
            np.copyto(image[frame_box], self._sprite[sprite_box], where=self._sprite_mask[sprite_box][..., None])

    def _object_mask(self, centre: tuple[int, int]) -> np.ndarray:
        mask = np.zeros((self._h, self._w), bool)
        window = self._object_window(centre)
        if window is not None:
            mask[window[0]] = self._sprite_mask[window[1]]
        return mask

    def _pixel_grid(self) -> tuple[np.ndarray, np.ndarray]:
        if self._grid is None:
            ys, xs = np.mgrid[0 : self._h, 0 : self._w].astype(np.float64)
            self._grid = (xs, ys)
        return self._grid

    def _flow(self, forward: bool) -> np.ndarray:
        if self._state is None or self._prev_state is None:
            return np.zeros((self._h, self._w, 2), np.float32)
        (m_prev, c_prev), (m_cur, c_cur) = self._prev_state, self._state
        # A world point seen at p_prev in the previous frame is at p_cur = M_cur^-1 M_prev p_prev now.
        a = np.linalg.inv(m_cur) @ m_prev if forward else np.linalg.inv(m_prev) @ m_cur
        xs, ys = self._pixel_grid()
        flow = np.empty((self._h, self._w, 2), np.float32)
        flow[..., 0] = a[0, 0] * xs + a[0, 1] * ys + a[0, 2] - xs
        flow[..., 1] = a[1, 0] * xs + a[1, 1] * ys + a[1, 2] - ys
        dx, dy = c_cur[0] - c_prev[0], c_cur[1] - c_prev[1]
        if forward:
            flow[self._object_mask(c_prev)] = (dx, dy)
        else:
            flow[self._object_mask(c_cur)] = (-dx, -dy)
        return flow

    @property
    def last_flow(self) -> np.ndarray:
        """Forward flow previous -> current frame (zeros after the first frame)."""
        return self._flow(forward=True)

    @property
    def last_flow_backward(self) -> np.ndarray:
        """Backward flow current -> previous frame: ``cv2.remap(prev, x + fb_x, y + fb_y)`` ~ current."""
        return self._flow(forward=False)

    @property
    def last_object_mask(self) -> np.ndarray:
        """Where the moving object is in the current frame (bool HxW)."""
        if self._state is None:
            return np.zeros((self._h, self._w), bool)
        return self._object_mask(self._state[1])


class SynthStillSource:
    """``synth-still:WxH``: a still textured scene plus gaussian sensor noise (sigma ``noise`` grey levels).

    The noise comes from a precomputed bank sampled at random offsets each frame, so consecutive frames have
    independent noise at well under 1 ms per 640x480 frame. ``last_flow`` is all zeros: nothing moves.
    """

    is_live = False

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = _DEFAULT_FPS,
        frames: int | None = None,
        seed: int = 0,
        noise: float = 2.5,
    ) -> None:
        self._w, self._h = int(width), int(height)
        self._fps = float(fps)
        self._limit = frames
        self.noise = float(noise)
        side = _texture_side(self._w, self._h)
        texture = make_texture(side, side, seed)
        self.clean = np.ascontiguousarray(texture[: self._h, : self._w])
        self._base = self.clean.astype(np.int16)
        self._rng = np.random.default_rng(seed + 1)
        self._pad = 32
        self._bank = (
            self._rng.normal(0.0, self.noise, size=(4, self._h + self._pad, self._w + self._pad, 3))
            .round()
            .astype(np.int16)
        )
        self._index = 0
        self._closed = False

    @property
    def size(self) -> tuple[int, int]:
        return (self._w, self._h)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return 0

    @property
    def frame_count(self) -> int | None:
        return self._limit

    @property
    def last_flow(self) -> np.ndarray:
        return np.zeros((self._h, self._w, 2), np.float32)

    last_flow_backward = last_flow

    def read(self) -> Frame | None:
        if self._closed or (self._limit is not None and self._index >= self._limit):
            return None
        k = int(self._rng.integers(len(self._bank)))
        oy, ox = (int(v) for v in self._rng.integers(self._pad, size=2))
        noisy = cv2.add(self._base, self._bank[k, oy : oy + self._h, ox : ox + self._w])
        image = cv2.convertScaleAbs(noisy)
        frame = Frame(image=image, index=self._index, timestamp=time.perf_counter())
        self._index += 1
        return frame

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "SynthStillSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
