"""The product's CPU fast path, differentiable, for training (issue 11.2: train on what the user sees).

At run time a lite model sees the frame shrunk to its processing size (320x240 for 640x480: half) and its output is
brought back by guided upsampling (:func:`livestyle.stylize.upsample.detail_upsample`). A net trained on full-size
crops therefore paints strokes twice the trained size on screen. Training through this path instead (crop at S,
shrink by area to S * scale, run the net, guided-upsample to S with the crop as guide, take the loss at S) makes the
loss judge the picture the user gets. The torch ops are the torch backend's twins of the OpenCV ones.
"""

from __future__ import annotations

import torch
from torch import nn

from livestyle.stylize.torch_backend import detail_upsample, resize


def low_size(size: int, scale: float, multiple: int = 4) -> int:
    """The network's input side for a training crop of ``size`` at ``scale`` (a multiple of ``multiple``)."""
    return max(multiple, int(round(size * scale / multiple)) * multiple)


def runtime_forward(model: nn.Module, x: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(output at x's size, pre-sigmoid logits at the network's size) of the fast path on ``x`` (RGB 0..255 NCHW).

    ``scale`` 1 is the plain network. Otherwise the net runs on ``x`` shrunk by exact area averaging (as
    ``cv2.INTER_AREA``) and its output is upsampled guided by ``x``; the gradient flows through the upsampling.
    """
    if scale == 1.0:
        return model(x, with_logits=True)
    h, w = x.shape[-2:]
    small = resize(x.float(), (low_size(h, scale), low_size(w, scale)))
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        small = small.contiguous(memory_format=torch.channels_last)
    y_low, z = model(small, with_logits=True)
    with torch.autocast(x.device.type, enabled=False):
        y = detail_upsample(y_low.float(), x.float()).clamp(0.0, 255.0)  # the product rounds to uint8 here
    return y, z
