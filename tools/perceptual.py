"""Perceptual (VGG19) loss shared by the Gatys optimizer, the feed-forward trainer and evaluation.

One definition of "style distance" and "content distance" is used everywhere, so a Gatys result, a trained
network and an evaluation report can be compared number for number.

Both distances are *relative* squared errors, which makes them independent of each layer's scale (raw Gram
magnitudes of the Caffe VGG19 differ by four orders of magnitude between relu1_1 and relu4_1) and lets one set of
weights work for every style image:

- style distance  = sum_l w_l * mean((G_l(x) - G_l(s))^2) / mean(G_l(s)^2), w_l summing to 1 (default equal);
  with several style images, the style-weighted sum over them (weights summing to 1).
- content distance = sum_l w_l * mean((F_l(x) - F_l(c))^2) / mean(F_l(c)^2).

0 means identical statistics; 1 means as far as an image with no features at all. For scale: a photo against
Starry Night scores about 0.67 in style distance (kodim23 at 256 px); the default Gatys result about 0.04.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tools import losses
from tools.vgg import VGG19, shared_vgg

DEFAULT_CONTENT_LAYERS: tuple[str, ...] = ("conv4_2",)
DEFAULT_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class LossConfig:
    """Default weights of the perceptual loss (content : style : total variation).

    With relative distances the raw numbers are interpretable: ``style_weight / content_weight`` is how much more a
    unit of relative Gram error costs than a unit of relative content-feature error. The defaults were chosen by
    running Gatys (L-BFGS, 80 iterations) at 256 px on kodim23 against Starry Night with style weights 10, 50 and
    200: all three look painted; 10 keeps the most content (content distance 0.44 vs 0.77 at 50) while already
    bringing the style distance from 0.67 (the photo) to 0.04. ``tv_weight`` multiplies the mean squared
    difference of neighbouring pixels in [0, 255] units (about 300-900 for photos and results), so 1e-5 only
    damps isolated speckle and never blurs edges; raise it (1e-4 to 1e-3) for smoother fast-network outputs.
    """

    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 1e-5
    pooling: str = "max"


_DEFAULTS = LossConfig()


def _normalise_weights(values: Sequence[float] | None, n: int, what: str) -> list[float]:
    if values is None:
        return [1.0 / n] * n
    values = [float(v) for v in values]
    if len(values) != n:
        raise ValueError(f"{what}: expected {n} weights, got {len(values)}")
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"{what}: weights must be non-negative with a positive sum, got {values}")
    total = sum(values)
    return [v / total for v in values]


def _resize_longest(img: torch.Tensor, longest: int | None) -> torch.Tensor:
    if longest is None:
        return img
    h, w = img.shape[-2:]
    scale = longest / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return img
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


class PerceptualLoss:
    """Content + style + total-variation loss against fixed style image(s); style Grams are computed once.

    ``style_images``: RGB float [0, 255] tensors, (3, H, W) or (1, 3, H, W). ``style_weights``: relative weight of
    each style image (normalised to sum 1; default equal). ``layer_weights``: per-style-layer weights (a sequence
    matching ``style_layers`` or a mapping name -> weight; normalised; default equal). ``style_size``: resize each
    style image so its longer side has this many pixels before taking its Grams (None: use it as given), which
    sets the scale of the brush strokes the loss asks for.
    """

    def __init__(
        self,
        style_images: Sequence[torch.Tensor],
        style_weights: Sequence[float] | None = None,
        content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
        style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
        content_weight: float = _DEFAULTS.content_weight,
        style_weight: float = _DEFAULTS.style_weight,
        tv_weight: float = _DEFAULTS.tv_weight,
        layer_weights: Sequence[float] | Mapping[str, float] | None = None,
        pooling: str = _DEFAULTS.pooling,
        style_size: int | None = None,
        vgg: VGG19 | None = None,
    ) -> None:
        if len(style_images) == 0:
            raise ValueError("PerceptualLoss needs at least one style image")
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        VGG19.check_layers(self.content_layers + self.style_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.style_weights = _normalise_weights(style_weights, len(style_images), "style_weights")
        if isinstance(layer_weights, Mapping):
            layer_weights = [float(layer_weights.get(name, 0.0)) for name in self.style_layers]
        self.layer_weights = _normalise_weights(layer_weights, len(self.style_layers), "layer_weights")
        self.vgg = vgg if vgg is not None else shared_vgg(pooling)
        self._layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))

        # Per style image: {layer: (target Gram (1, C, C), 1 / mean(G^2))}.
        self.style_targets: list[dict[str, tuple[torch.Tensor, float]]] = []
        with torch.no_grad():
            for img in style_images:
                img = img if img.ndim == 4 else img.unsqueeze(0)
                img = _resize_longest(img.float(), style_size)
                feats = self.vgg(img, self.style_layers)
                targets = {}
                for name in self.style_layers:
                    g = losses.gram(feats[name])
                    targets[name] = (g, 1.0 / max(float((g**2).mean()), 1e-12))
                self.style_targets.append(targets)

    @property
    def layers(self) -> tuple[str, ...]:
        """Every VGG layer this loss reads (content and style)."""
        return self._layers

    def to(self, device: torch.device | str) -> "PerceptualLoss":
        """Move the loss network and the style targets to ``device``."""
        self.vgg = self.vgg.to(device)
        self.style_targets = [{k: (g.to(device), s) for k, (g, s) in t.items()} for t in self.style_targets]
        return self

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """VGG activations of ``x`` (RGB [0, 255] NCHW) at every content and style layer."""
        return self.vgg(x, self._layers)

    def content_features(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """Detached content-layer activations, to pass as ``content_features`` when reused across steps."""
        with torch.no_grad():
            return {k: v.detach() for k, v in self.vgg(content, self.content_layers).items()}

    # -- distances (unweighted by content/style weight; used for optimisation and evaluation alike) ----------
    def _style_term(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        total = torch.zeros((), device=next(iter(feats.values())).device)
        grams = {name: losses.gram(feats[name]) for name in self.style_layers}
        for sw, targets in zip(self.style_weights, self.style_targets):
            for lw, name in zip(self.layer_weights, self.style_layers):
                g_target, inv_scale = targets[name]
                total = total + (sw * lw * inv_scale) * losses.style_loss(grams[name], g_target)
        return total

    def _content_term(self, feats: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> torch.Tensor:
        total = torch.zeros((), device=next(iter(feats.values())).device)
        w = 1.0 / len(self.content_layers)
        for name in self.content_layers:
            t = target[name].detach().float()  # float32 also under bf16 autocast (see losses.gram)
            scale = (t**2).mean().clamp_min(1e-12)
            total = total + w * losses.content_loss(feats[name].float(), t) / scale
        return total

    def style_distance(self, x: torch.Tensor) -> float:
        """Relative Gram distance of ``x`` to the style image(s) (see the module docstring)."""
        with torch.no_grad():
            return float(self._style_term(self.vgg(x, self.style_layers)))

    def content_distance(self, x: torch.Tensor, content: torch.Tensor) -> float:
        """Relative content-feature distance of ``x`` to ``content`` (same size, RGB [0, 255])."""
        with torch.no_grad():
            return float(self._content_term(self.vgg(x, self.content_layers), self.vgg(content, self.content_layers)))

    def __call__(
        self,
        output: torch.Tensor,
        content: torch.Tensor | None = None,
        content_features: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms for ``output``: {"content", "style", "tv"} unweighted and "total" weighted.

        Give ``content`` (image) or ``content_features`` (from :meth:`content_features`) for the content term;
        with neither, the content term is zero (style-only reconstruction).
        """
        want_content = content is not None or content_features is not None
        layers = (self.content_layers if want_content else ()) + (self.style_layers if self.style_weight else ())
        layers = tuple(dict.fromkeys(layers)) or self.content_layers
        feats = self.vgg(output, layers)
        zero = torch.zeros((), device=output.device)
        if content_features is None and content is not None:
            content_features = self.content_features(content)
        c = self._content_term(feats, content_features) if want_content else zero
        s = self._style_term(feats) if self.style_weight != 0 else zero
        tv = losses.tv_loss(output) if self.tv_weight != 0 else zero
        total = self.content_weight * c + self.style_weight * s + self.tv_weight * tv
        return {"content": c, "style": s, "tv": tv, "total": total}
