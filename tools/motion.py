"""Synthetic temporal pairs with known motion, for the temporal loss of the feed-forward trainer.

A training photo ``x`` is warped by a random smooth flow (global affine motion plus a smooth random field, like a
hand-held camera looking at a slightly moving scene) into ``x2``; sensor-like noise is added to both. Since the
flow is known exactly, the temporal loss (Ruder et al. 2016; Huang et al. 2017 "Real-time neural style transfer
for videos") can ask the network to commute with the motion:

    L_temp = mean(mask * (net(x2) - warp(net(x)))^2)

``mask`` is 0 where the warp samples outside the source image (disoccluded border) and 1 elsewhere.
The flow convention is backward: ``x2[y, x] = x[y + flow_y, x + flow_x]`` (what ``cv2.remap`` and
``torch.nn.functional.grid_sample`` do), so the same flow warps the stylized output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MotionConfig:
    """Magnitudes of the random motion, in pixels (at the training size) and radians."""

    max_shift: float = 6.0       # global translation
    max_rotate: float = 0.04     # global rotation (~2.3 degrees)
    max_zoom: float = 0.04       # global scale change
    field_amplitude: float = 2.0  # smooth local motion on top
    field_cells: int = 4          # the local field is bicubically upsampled from field_cells x field_cells
    noise_std: float = 2.0        # Gaussian sensor noise (0-255 units), independent per frame


def random_flow(n: int, h: int, w: int, cfg: MotionConfig = MotionConfig(), *,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Random smooth backward flow (N, 2, H, W) in pixels: (dx, dy) per output pixel."""
    g = generator

    def u(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=g) * 2 - 1).to(device)

    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=device),
                            torch.arange(w, dtype=torch.float32, device=device), indexing="ij")
    cx, cy = (w - 1) / 2, (h - 1) / 2
    xc, yc = xs - cx, ys - cy
    theta = u(n) * cfg.max_rotate
    zoom = 1 + u(n) * cfg.max_zoom
    tx, ty = u(n) * cfg.max_shift, u(n) * cfg.max_shift
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Source position = zoom * R(theta) * centred position + translation.
    sx = zoom[:, None, None] * (cos[:, None, None] * xc - sin[:, None, None] * yc) + cx + tx[:, None, None]
    sy = zoom[:, None, None] * (sin[:, None, None] * xc + cos[:, None, None] * yc) + cy + ty[:, None, None]
    flow = torch.stack([sx - xs, sy - ys], dim=1)
    if cfg.field_amplitude > 0:
        coarse = u(n, 2, cfg.field_cells, cfg.field_cells) * cfg.field_amplitude
        flow = flow + F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    return flow


def warp(img: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward-warp ``img`` (N, C, H, W) by ``flow`` (N, 2, H, W); returns (warped, valid mask (N, 1, H, W)).

    Bilinear sampling with ``align_corners=True`` so pixel centres map exactly (matches ``cv2.remap``).
    """
    n, _, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype, device=flow.device),
                            torch.arange(w, dtype=flow.dtype, device=flow.device), indexing="ij")
    sx = xs + flow[:, 0]
    sy = ys + flow[:, 1]
    grid = torch.stack([2 * sx / max(w - 1, 1) - 1, 2 * sy / max(h - 1, 1) - 1], dim=-1)
    warped = F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="border", align_corners=True)
    valid = ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)).to(img.dtype).unsqueeze(1)
    return warped, valid


def make_pair(x: torch.Tensor, cfg: MotionConfig = MotionConfig(), *,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """From clean photos ``x`` (N, 3, H, W, [0, 255]) make (frame1, frame2, flow, mask).

    frame2 = warp(x, flow) + noise and frame1 = x + independent noise, so the network also learns to ignore sensor
    noise (the flicker of a still webcam scene comes mostly from that).
    """
    flow = random_flow(x.shape[0], x.shape[2], x.shape[3], cfg, generator=generator, device=x.device)
    x2, mask = warp(x, flow)

    def noise() -> torch.Tensor:
        return (torch.randn(x.shape, generator=generator) * cfg.noise_std).to(x.device)

    f1 = (x + noise()).clamp(0, 255)
    f2 = (x2 + noise()).clamp(0, 255)
    return f1, f2, flow, mask
