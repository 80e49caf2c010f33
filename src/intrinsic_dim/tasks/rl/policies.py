"""Policy and Q-networks: plain torch modules, wrapped in a subspace like any other network."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(inputs: int, hidden: Sequence[int], outputs: int, activation: str = "tanh") -> nn.Sequential:
    """inputs -> hidden... -> outputs; the paper's CartPole net is 4-20-20-2 (D = 562)."""
    sizes = [inputs, *hidden]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
    layers.append(nn.Linear(sizes[-1], outputs))
    return nn.Sequential(*layers)


class AtariCNN(nn.Module):
    """The A3C network (Mnih et al. 2016) that Salimans et al. 2017 evolved for Atari: 2 convolutions, 256 units."""

    def __init__(self, frames: int, outputs: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(frames, 16, 8, stride=4), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 9 * 9, 256), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(256, outputs)

    def forward(self, frames):
        return self.head(self.features(frames.float() / 255.0))
