"""Loss math against hand-computed values, and the PerceptualLoss built on it."""

from __future__ import annotations

import pytest
import torch

from tools.losses import content_loss, gram, style_loss, temporal_loss, tv_loss
from tools.perceptual import LossConfig, PerceptualLoss


def test_gram_by_hand() -> None:
    # C=2, H=1, W=2: f0 = [1, 2], f1 = [3, 4]; F F^T = [[5, 11], [11, 25]]; divided by C*H*W = 4.
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    g = gram(f)
    assert g.shape == (1, 2, 2)
    assert torch.allclose(g, torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4)


def test_gram_batch_and_resolution_invariance() -> None:
    f = torch.rand(1, 4, 3, 3)
    tiled = f.repeat(1, 1, 2, 2)  # same statistics, 4x the positions
    assert torch.allclose(gram(tiled), gram(f), atol=1e-6)
    assert gram(torch.rand(3, 4, 5, 5)).shape == (3, 4, 4)
    with pytest.raises(ValueError):
        gram(torch.rand(4, 5, 5))


def test_content_and_style_loss_by_hand() -> None:
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    b = torch.tensor([1.0, 0.0, 3.0, 0.0])
    assert content_loss(a, b).item() == pytest.approx((4 + 16) / 4)
    ga = torch.tensor([[[1.0, 2.0], [2.0, 1.0]]])
    gb = torch.zeros(1, 2, 2)
    assert style_loss(ga, gb).item() == pytest.approx((1 + 4 + 4 + 1) / 4)
    # Targets of shape (1, C, C) broadcast over a batch.
    assert style_loss(torch.cat([ga, ga]), gb).item() == pytest.approx(2.5)


def test_tv_loss_by_hand() -> None:
    img = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    # dx: [1, 2] -> mean sq 2.5; dy: [2, 3] -> mean sq 6.5.
    assert tv_loss(img).item() == pytest.approx(9.0)
    assert tv_loss(torch.full((1, 3, 4, 4), 7.0)).item() == 0.0


def test_temporal_loss() -> None:
    out = torch.rand(1, 3, 4, 4) * 255
    assert temporal_loss(out, out.clone(), torch.ones(4, 4)).item() == 0.0
    other = out + 2.0
    assert temporal_loss(out, other, torch.ones(1, 1, 4, 4)).item() == pytest.approx(4.0)
    # Masked-out pixels do not count; D stays the number of pixel values (Ruder et al.).
    mask = torch.zeros(4, 4)
    mask[:2] = 1.0
    assert temporal_loss(out, other, mask).item() == pytest.approx(2.0)
    assert temporal_loss(out, other, torch.zeros(4, 4)).item() == 0.0


@pytest.fixture(scope="module")
def style_img() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 48, 48, generator=g) * 255


def test_perceptual_loss_terms(style_img: torch.Tensor) -> None:
    torch.set_num_threads(1)
    loss = PerceptualLoss([style_img])
    content = torch.full((1, 3, 32, 32), 128.0)
    terms = loss(content.clone(), content=content)
    assert set(terms) == {"content", "style", "tv", "total"}
    assert terms["content"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["tv"].item() == 0.0
    assert terms["style"].item() > 0
    assert terms["total"].item() == pytest.approx(loss.style_weight * terms["style"].item(), rel=1e-5)
    # Style distance of the style image to itself is zero; content distance to itself too.
    assert loss.style_distance(style_img) == pytest.approx(0.0, abs=1e-6)
    assert loss.content_distance(content, content) == pytest.approx(0.0, abs=1e-6)
    assert loss.style_distance(content) > 0.1


def test_perceptual_loss_content_features_and_batch(style_img: torch.Tensor) -> None:
    loss = PerceptualLoss([style_img], content_weight=2.0, style_weight=0.0, tv_weight=0.0)
    x = torch.rand(2, 3, 32, 32) * 255
    c = torch.rand(2, 3, 32, 32) * 255
    by_image = loss(x, content=c)
    by_feats = loss(x, content_features=loss.content_features(c))
    assert torch.allclose(by_image["total"], by_feats["total"])
    assert by_image["total"].item() == pytest.approx(2.0 * by_image["content"].item())
    no_content = loss(x)
    assert no_content["content"].item() == 0.0


def test_multiple_styles_weighted(style_img: torch.Tensor) -> None:
    other = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 255 * 0.3
    both = PerceptualLoss([style_img, other], style_weights=[3.0, 1.0])
    assert both.style_weights == pytest.approx([0.75, 0.25])
    only_first = PerceptualLoss([style_img])
    only_second = PerceptualLoss([other])
    x = torch.rand(1, 3, 32, 32) * 255
    expected = 0.75 * only_first.style_distance(x) + 0.25 * only_second.style_distance(x)
    assert both.style_distance(x) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError):
        PerceptualLoss([style_img], style_weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        PerceptualLoss([])


def test_layer_weights_mapping(style_img: torch.Tensor) -> None:
    loss = PerceptualLoss([style_img], layer_weights={"relu1_1": 1.0})
    assert loss.layer_weights == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert LossConfig().style_layers == loss.style_layers


def test_gradient_lowers_loss(style_img: torch.Tensor) -> None:
    loss = PerceptualLoss([style_img])
    x = torch.full((1, 3, 32, 32), 128.0, requires_grad=True)
    before = loss(x)["total"]
    before.backward()
    with torch.no_grad():
        step = x - 1e-2 * x.grad / x.grad.abs().max()
    assert loss(step)["total"].item() < before.item()
