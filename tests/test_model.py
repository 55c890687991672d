"""The tutorial's CIFAR-10 network: exact layers, output shape, the ReLU switch, devices, torchvision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.training.model import (
    RELU_EXPLANATION,
    available_devices,
    build_model,
    count_parameters,
    describe_model,
    layer_labels,
    parameter_names,
    resolve_device,
)

TUTORIAL_LAYERS = [
    (nn.Conv2d, dict(in_channels=3, out_channels=32, kernel_size=(5, 5), padding=(2, 2), stride=(1, 1))),
    (nn.MaxPool2d, dict(kernel_size=2)),
    (nn.Conv2d, dict(in_channels=32, out_channels=32, kernel_size=(5, 5), padding=(2, 2), stride=(1, 1))),
    (nn.MaxPool2d, dict(kernel_size=2)),
    (nn.Conv2d, dict(in_channels=32, out_channels=64, kernel_size=(5, 5), padding=(2, 2), stride=(1, 1))),
    (nn.MaxPool2d, dict(kernel_size=2)),
    (nn.Flatten, {}),
    (nn.Linear, dict(in_features=1024, out_features=64)),
    (nn.Linear, dict(in_features=64, out_features=10)),
]


def _check_layers(layers: list[nn.Module], expected: list[tuple[type, dict]]) -> None:
    assert len(layers) == len(expected)
    for layer, (cls, attrs) in zip(layers, expected, strict=True):
        assert type(layer) is cls
        for key, value in attrs.items():
            assert getattr(layer, key) == value, (layer, key)


def test_default_model_is_exactly_the_tutorial_network() -> None:
    model = build_model()
    _check_layers(list(model), TUTORIAL_LAYERS)
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert parameter_names(model) == [f"{i}.{k}" for i in (0, 2, 4, 7, 8) for k in ("weight", "bias")]
    assert count_parameters(model) == 2432 + 25632 + 51264 + 65600 + 650


@pytest.mark.parametrize("relu", [False, True])
def test_output_shape_is_batch_by_ten(relu: bool) -> None:
    torch.manual_seed(0)
    out = build_model(relu)(torch.randn(5, 3, 32, 32))
    assert out.shape == (5, 10)
    assert torch.isfinite(out).all()


def test_relu_switch_adds_relu_after_each_conv_and_the_first_linear() -> None:
    layers = list(build_model(relu=True))
    expected = list(TUTORIAL_LAYERS)
    for pos in (8, 5, 3, 1):  # after Linear(1024,64), conv3, conv2, conv1 (insert from the back)
        expected.insert(pos, (nn.ReLU, {}))
    _check_layers(layers, expected)
    assert isinstance(layers[-1], nn.Linear)  # the scores stay raw for the loss


def test_without_relu_the_linear_layers_collapse_into_one() -> None:
    """What the page explains: Linear(64,10)∘Linear(1024,64) is one Linear(1024,10)."""
    torch.manual_seed(1)
    model = build_model()
    l1, l2 = model[7], model[8]
    merged = nn.Linear(1024, 10)
    with torch.no_grad():
        merged.weight.copy_(l2.weight @ l1.weight)
        merged.bias.copy_(l2.weight @ l1.bias + l2.bias)
    x = torch.randn(4, 1024)
    torch.testing.assert_close(l2(l1(x)), merged(x), rtol=1e-5, atol=1e-5)
    # with ReLU in between, the same merge no longer reproduces the network
    relu_head = nn.Sequential(l1, nn.ReLU(), l2)
    assert not torch.allclose(relu_head(x), merged(x), atol=1e-3)
    assert "linear" in RELU_EXPLANATION and "ReLU" in RELU_EXPLANATION


def test_describe_model_lists_every_layer() -> None:
    lines = describe_model(build_model())
    assert len(lines) == 9
    assert lines[0].startswith("0: Conv2d(3, 32")
    assert lines[-1].startswith("8: Linear(in_features=64, out_features=10")


def test_device_resolution() -> None:
    devices = available_devices()
    assert devices[-1] == "cpu"
    assert resolve_device("auto").type == devices[0]
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(LossvizInputError, match="unknown"):
        resolve_device("tpu")
    if "cuda" not in devices:
        with pytest.raises(LossvizInputError, match="not available"):
            resolve_device("cuda")


def test_torchvision_imports_and_its_compiled_ops_work() -> None:
    """The torch/torchvision pair must match (a mismatched pair fails on torchvision::nms)."""
    import torchvision
    from torchvision.datasets import CIFAR10
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert CIFAR10.base_folder == "cifar-10-batches-py"
    assert torchvision.__version__.split("+")[0] == "0.29.2"


def test_layer_labels_name_convs_and_linears_in_order() -> None:
    plain = layer_labels(build_model())
    assert plain["0.weight"] == "conv1 weight" and plain["4.bias"] == "conv3 bias"
    assert plain["7.weight"] == "fc1 weight" and plain["8.bias"] == "fc2 bias"
    relu = layer_labels(build_model(relu=True))
    assert list(relu.values()) == list(plain.values())  # same layers, shifted indices
    assert relu["3.weight"] == "conv2 weight"
