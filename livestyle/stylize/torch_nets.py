"""Feed-forward image transformation networks (Johnson et al. 2016) and a small CPU real-time variant.

This module is the one definition of the networks: the trainer uses it through ``tools.nets`` (a re-export) and the
runtime's optional torch backend (``livestyle.stylize.torch_backend``) rebuilds a model card's ``architecture`` from it,
so it lives in the runtime package. It imports torch, so only torch-side code imports it (the module name contains
``.torch``, which the layout test skips).

Both take RGB float [0, 255] NCHW and return RGB float [0, 255] NCHW of the same size, for any input whose height
and width are multiples of :attr:`size_multiple` (the total downsampling factor). Inside, the input is scaled to
[0, 1] first: with raw 0-255 activations the instance-norm variances overflow float16, which breaks fp16 export.
The output goes through ``255 * sigmoid``, so the exported model never needs clamping.

Upsampling is nearest-neighbour followed by a convolution instead of a transposed convolution, which avoids the
checkerboard artefacts of strided deconvolutions (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
Padding is reflection padding, so borders look like the rest of the picture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn


def _norm(channels: int) -> nn.Module:
    # Instance norm with affine parameters (Ulyanov et al. 2016): per-image contrast normalisation, the single
    # most important ingredient of fast style transfer quality.
    return nn.InstanceNorm2d(channels, affine=True)


class ConvLayer(nn.Sequential):
    """Reflection pad -> conv (optionally depthwise-separable) -> instance norm -> ReLU (each optional)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, norm: bool = True, relu: bool = True,
                 separable: bool = False, reflect: bool = True) -> None:
        # Zero padding inside the conv (reflect=False) saves a separate Pad op, which in ONNX Runtime on CPU also
        # forces a layout reorder around every conv: worth ~20% of the lite net's time.
        pad = 0 if reflect else k // 2
        layers: list[nn.Module] = [nn.ReflectionPad2d(k // 2)] if reflect else []
        if separable:
            layers += [nn.Conv2d(cin, cin, k, stride, pad, groups=cin, bias=False), nn.Conv2d(cin, cout, 1)]
        else:
            layers.append(nn.Conv2d(cin, cout, k, stride, pad))
        if norm:
            layers.append(_norm(cout))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with instance norm and an identity shortcut (He et al. 2016, as in Johnson et al.)."""

    def __init__(self, channels: int, *, separable: bool = False, reflect: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3, separable=separable, reflect=reflect),
            ConvLayer(channels, channels, 3, relu=False, separable=separable, reflect=reflect),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest x2 upsampling then a convolution (no transposed conv, so no checkerboard)."""

    def __init__(self, cin: int, cout: int, k: int, *, separable: bool = False, norm: bool = True,
                 relu: bool = True, reflect: bool = True) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, k, separable=separable, norm=norm, relu=relu, reflect=reflect)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"))


@dataclass(frozen=True)
class NetConfig:
    """Everything that defines an architecture; stored in checkpoints and model cards so a net can be rebuilt."""

    arch: str = "full"
    channels: tuple[int, int, int] = (32, 64, 128)
    res_blocks: int = 5
    outer_kernel: int = 9
    separable: bool = False   # depthwise-separable residual convolutions
    separable_up: bool = False  # depthwise-separable decoder convolutions
    reflect: bool = True  # reflection padding (False: zero padding inside the conv, faster in ORT on CPU)
    stem_stride: int = 1  # 2: the first conv already downsamples (no full-resolution feature maps; c1 unused)
    output_stage: str = "upsample"  # or "pixelshuffle": last conv at half resolution, then DepthToSpace
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NetConfig":
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


#: Named presets. ``full`` is Johnson et al.; ``lite`` was chosen by measured ONNX Runtime time on 2 CPU cores
#: (see docs/TRAINING.md for the candidates and their timings).
PRESETS: dict[str, NetConfig] = {
    "full": NetConfig("full", (32, 64, 128), 5, 9, False),
    # 11.4 ms per 320x240 frame, 50 ms at 640x480 (ORT CPU EP, 1 thread, this machine), 55k parameters.
    "lite": NetConfig("lite", (32, 32, 64), 3, 3, separable=True, separable_up=True, reflect=True, stem_stride=2,
                      output_stage="pixelshuffle"),
    # The whole frame, no guided upsampling: residual blocks at 1/8 (issue 11: a half-size net's strokes lose the
    # fine texture the style loss asks for). Figures in docs/TRAINING.md, "Architectures".
    "lite_hd": NetConfig("lite_hd", (16, 32, 64), 4, 3, separable=True, separable_up=True, reflect=True,
                         stem_stride=4, output_stage="pixelshuffle"),
    "lite_hd_wide": NetConfig("lite_hd_wide", (16, 48, 96), 4, 3, separable=True, separable_up=True, reflect=True,
                              stem_stride=4, output_stage="pixelshuffle"),
}


class TransformerNet(nn.Module):
    """Encoder (k x k conv, two stride-2 convs) -> residual blocks -> decoder (two upsample+conv, k x k conv)."""

    @property
    def size_multiple(self) -> int:
        """The total downsampling factor: input sides must be multiples of it."""
        return 8 if self.config.stem_stride == 4 else 4

    def __init__(self, config: NetConfig | str = "full") -> None:
        super().__init__()
        if isinstance(config, str):
            if config not in PRESETS:
                raise ValueError(f"unknown architecture {config!r}; choose from {', '.join(PRESETS)}")
            config = PRESETS[config]
        self.config = config
        c1, c2, c3 = config.channels
        k = config.outer_kernel
        sep = config.separable
        up_sep = config.separable_up
        r = config.reflect
        if config.stem_stride == 1:
            self.encoder = nn.Sequential(
                ConvLayer(3, c1, k, reflect=r),
                ConvLayer(c1, c2, 3, stride=2, reflect=r),
                ConvLayer(c2, c3, 3, stride=2, reflect=r),
            )
            self.decoder = nn.Sequential(
                UpsampleConv(c3, c2, 3, separable=up_sep, reflect=r),
                UpsampleConv(c2, c1, 3, separable=up_sep, reflect=r),
                ConvLayer(c1, 3, k, norm=False, relu=False, reflect=r),
            )
        elif config.stem_stride == 2:
            # CPU real-time variant: the costly full-resolution layers are reduced to one output convolution.
            self.encoder = nn.Sequential(
                ConvLayer(3, c2, k, stride=2, reflect=r),
                ConvLayer(c2, c3, 3, stride=2, reflect=r),
            )
            self.decoder = nn.Sequential(
                UpsampleConv(c3, c2, 3, separable=up_sep, reflect=r),
                *self._output_stage(c2, k, r, config.output_stage),
            )
        elif config.stem_stride == 4:
            # Full-resolution variant: three stride-2 convs put the residual blocks at 1/8 of the frame, so the net
            # runs on the whole frame (no guided upsampling, the strokes are its own) for about the cost of the
            # stride-2 net at half the size; the output conv runs at 1/2 resolution into DepthToSpace.
            self.encoder = nn.Sequential(
                ConvLayer(3, c1, k, stride=2, reflect=r),
                ConvLayer(c1, c2, 3, stride=2, reflect=r),
                ConvLayer(c2, c3, 3, stride=2, reflect=r),
            )
            self.decoder = nn.Sequential(
                UpsampleConv(c3, c2, 3, separable=up_sep, reflect=r),
                UpsampleConv(c2, c1, 3, separable=up_sep, reflect=r),
                *self._output_stage(c1, k, r, config.output_stage),
            )
        else:
            raise ValueError(f"stem_stride must be 1, 2 or 4, got {config.stem_stride}")
        self.res = nn.Sequential(*[ResidualBlock(c3, separable=sep, reflect=r) for _ in range(config.res_blocks)])

    @staticmethod
    def _output_stage(cin: int, k: int, reflect: bool, kind: str) -> list[nn.Module]:
        """Half resolution -> full resolution RGB. A depthwise conv at full resolution is slow on CPU, so the
        output conv is always dense; ``pixelshuffle`` runs it at half resolution (12 channels -> DepthToSpace)."""
        if kind == "upsample":
            return [UpsampleConv(cin, 3, k, norm=False, relu=False, reflect=reflect)]
        if kind == "pixelshuffle":
            return [ConvLayer(cin, 12, k, norm=False, relu=False, reflect=reflect), nn.PixelShuffle(2)]
        raise ValueError(f"unknown output stage {kind!r}; choose upsample or pixelshuffle")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-sigmoid output (the trainer penalises its magnitude: a saturated sigmoid has no gradient, so a
        region that reaches 0 or 255 can never be pulled back by the loss, which is how the white blobs and black
        holes of the first full models formed)."""
        return self.decoder(self.res(self.encoder(x * (1.0 / 255.0))))

    def forward(self, x: torch.Tensor, with_logits: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """RGB [0, 255] -> RGB [0, 255]; ``with_logits=True`` also returns the pre-sigmoid output (for the trainer,
        through DistributedDataParallel, which only wraps ``forward``)."""
        z = self.logits(x)
        y = torch.sigmoid(z) * 255.0
        return (y, z) if with_logits else y


def build_net(config: NetConfig | dict[str, Any] | str) -> TransformerNet:
    """Build a net from a preset name, a :class:`NetConfig` or its dict form (as stored in checkpoints)."""
    if isinstance(config, dict):
        config = NetConfig.from_dict(config)
    return TransformerNet(config)


def count_params(net: nn.Module) -> int:
    """Number of trainable values (cards record it, so a rebuilt net can be checked against the export)."""
    return sum(p.numel() for p in net.parameters())
