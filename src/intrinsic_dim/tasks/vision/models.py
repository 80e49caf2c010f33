"""The networks of Li et al. 2018 (FC and LeNet), with He-normal initialization."""

from __future__ import annotations

from torch import nn


def he_normal_(module: nn.Module) -> nn.Module:
    """He-normal weights (fan-in, ReLU gain) and zero biases for every linear and convolutional layer."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return module


def fully_connected(in_features: int = 784, hidden: tuple[int, ...] = (200, 200), classes: int = 10) -> nn.Module:
    """FC 784-200-200-10 by default (D = 199,210)."""
    widths = (in_features, *hidden)
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], classes))
    return he_normal_(nn.Sequential(*layers))


def lenet(in_channels: int = 1, image_size: int = 28, classes: int = 10) -> nn.Module:
    """conv 6@5x5, maxpool 2, conv 16@5x5, maxpool 2, FC 120, FC 84, FC 10 (D = 44,426 on MNIST)."""
    side = ((image_size - 4) // 2 - 4) // 2
    return he_normal_(
        nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * side * side, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, classes),
        )
    )  # fmt: skip
