"""The CIFAR-10 network of the classic PyTorch tutorial, and the device helpers around it.

The tutorial's network has no activation function at all, so every layer is linear
(convolution, max-pooling aside) and the stack of convolutions and linear layers can only
learn what one linear classifier could. ``relu=True`` adds a ReLU after each convolution and
after the first linear layer, which is what lets a network bend its decision boundaries.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, msg

NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)

#: What the ReLU switch changes, in words a page can show (a message id: ``gettext(RELU_EXPLANATION, lang)``).
RELU_EXPLANATION = N_(
    "The tutorial's network has no activation function. Convolutions and linear layers are all linear "
    "maps, and a stack of linear maps is itself one linear map, so apart from max-pooling the whole "
    "network can do no more than a single linear classifier on the pixels. Switching ReLU on puts "
    "max(0, x) after each convolution and after the first linear layer; the network can then bend its "
    "decision boundaries and usually learns faster and further."
)


def build_model(relu: bool = False) -> nn.Sequential:
    """The tutorial's CNN; ``relu=True`` adds ReLU after each conv and the first linear layer.

    Example:
        >>> build_model()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    layers: list[nn.Module] = []

    def act() -> None:
        if relu:
            layers.append(nn.ReLU())

    layers += [nn.Conv2d(3, 32, 5, padding=2)]
    act()
    layers += [nn.MaxPool2d(2), nn.Conv2d(32, 32, 5, padding=2)]
    act()
    layers += [nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2)]
    act()
    layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1024, 64)]
    act()
    layers += [nn.Linear(64, NUM_CLASSES)]
    return nn.Sequential(*layers)


def layer_labels(model: nn.Module) -> dict[str, str]:
    """Readable names for each weight and bias: ``{"0.weight": "conv1 weight", ..., "8.bias": "fc2 bias"}``."""
    labels: dict[str, str] = {}
    counts = {"conv": 0, "fc": 0}
    for prefix, module in model.named_children():
        kind = "conv" if isinstance(module, nn.Conv2d) else "fc" if isinstance(module, nn.Linear) else None
        if kind is None:
            continue
        counts[kind] += 1
        for pname, _ in module.named_parameters():
            labels[f"{prefix}.{pname}"] = f"{kind}{counts[kind]} {pname}"
    return labels


@functools.lru_cache(maxsize=4)
def layer_labels_for(relu: bool = False) -> dict[str, str]:
    """:func:`layer_labels` of the tutorial network with or without ReLU (cached; treat as read-only)."""
    return layer_labels(build_model(relu))


def describe_model(model: nn.Module) -> list[str]:
    """One line per layer, e.g. ``"0: Conv2d(3, 32, kernel_size=(5, 5), ...)"``."""
    return [f"{name}: {module}" for name, module in model.named_children()]


def parameter_names(model: nn.Module) -> list[str]:
    """Names of the weights and biases (``"0.weight"``, ``"0.bias"``, ...) in model order."""
    return [name for name, _ in model.named_parameters()]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in the model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def available_devices() -> list[str]:
    """Devices this machine can train on, best first (always ends with ``"cpu"``)."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; an unavailable device is a LossvizInputError."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name not in ("cpu", "cuda", "mps"):
        raise LossvizInputError(msg("device {name!r} is unknown: choose auto, cpu, cuda or mps", name=name))
    if name not in available_devices():
        raise LossvizInputError(
            msg(
                "device {name!r} is not available on this machine: choose one of {choices}",
                name=name,
                choices=", ".join(["auto", *available_devices()]),
            )
        )
    return torch.device(name)
