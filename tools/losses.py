"""Loss terms of neural style transfer as plain functions on tensors.

Conventions: features are NCHW VGG activations; images are RGB float [0, 255] NCHW. Every loss returns a scalar
that is a *mean* (not a sum), so its size does not depend on the image resolution or batch size and the same
weights work at 256 px and at 512 px.
"""

from __future__ import annotations

import torch


def gram(feat: torch.Tensor) -> torch.Tensor:
    """Gram matrix of NCHW features, normalised by C*H*W (as in Johnson et al.): (N, C, C).

    Dividing by H*W makes it the mean of feature products over positions, so the same texture at two resolutions
    has (roughly) the same Gram; the extra 1/C keeps the deeper, wider layers from dominating the style loss.
    """
    if feat.ndim != 4:
        raise ValueError(f"gram expects NCHW features, got shape {tuple(feat.shape)}")
    n, c, h, w = feat.shape
    # Always in float32, also under bf16 autocast: a Gram is a mean of many products and the style loss a small
    # difference of two of them; bf16's 8-bit mantissa would round that difference away. Costs little (C x C).
    with torch.autocast(feat.device.type, enabled=False):
        f = feat.float().reshape(n, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two feature maps (Gatys et al.'s content loss, averaged instead of summed)."""
    return torch.mean((a - b) ** 2)


def style_loss(gram_a: torch.Tensor, gram_b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two Gram matrices; ``gram_b`` may be (1, C, C) and broadcast over a batch."""
    return torch.mean((gram_a - gram_b) ** 2)


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of horizontally and vertically adjacent pixels (summed).

    The squared (beta = 2) form is smooth, which suits L-BFGS; it suppresses the high-frequency noise that
    optimising against VGG features otherwise leaves behind.
    """
    dx = img[..., :, 1:] - img[..., :, :-1]
    dy = img[..., 1:, :] - img[..., :-1, :]
    return torch.mean(dx**2) + torch.mean(dy**2)


def temporal_loss(output: torch.Tensor, warped_prev: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder et al. (2016) short-term temporal loss: (1/D) * sum(c * (x - w)^2), D = number of pixel values.

    ``mask`` is the per-pixel certainty c in [0, 1] (0 where occluded or on motion boundaries); it may be
    (H, W), (N, 1, H, W) or full NCHW and is broadcast against the images.
    """
    if mask.ndim == 2:
        mask = mask[None, None]
    diff = (output - warped_prev) ** 2
    return torch.mean(mask.to(diff.dtype) * diff)
