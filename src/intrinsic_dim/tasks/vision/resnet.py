"""A small CIFAR ResNet (He et al. 2016, section 4.2) from torchvision's BasicBlock: 3 stages of `blocks` blocks."""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock


def stage(in_width: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    shortcut = None
    if stride != 1 or in_width != width:  # a 1x1 convolution where the shape changes
        shortcut = nn.Sequential(nn.Conv2d(in_width, width, 1, stride, bias=False), nn.BatchNorm2d(width))
    layers = [BasicBlock(in_width, width, stride, shortcut)]
    layers += [BasicBlock(width, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def resnet(
    in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64), blocks: int = 3, classes: int = 10
) -> nn.Module:
    """ResNet-20 by default (3 blocks per stage, widths 16-32-64): D = 272,474 on CIFAR-10."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
    ]  # fmt: skip
    for index, width in enumerate(widths):
        layers.append(stage(widths[max(0, index - 1)], width, blocks, stride=1 if index == 0 else 2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], classes)]
    net = nn.Sequential(*layers)
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
    return net
