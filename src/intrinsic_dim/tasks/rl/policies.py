"""Policy and Q-networks: plain torch modules, wrapped in a subspace like any other network."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.errors import BadInput

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
VARIANCE_FLOOR = 1e-4  # a feature that barely varies (a balanced pole's angle) is scaled up at most 100x


class Standardize(nn.Module):
    """(observation - mean) / std with the statistics of the observations seen while training (Salimans et al.).

    mean and std are buffers, not parameters: outside theta_D, set by the training loop, stored with the model.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))

    @torch.no_grad()
    def set_moments(self, count: int, total: torch.Tensor, squares: torch.Tensor) -> None:
        """From the count, sum and sum of squares of the observations seen so far."""
        mean = total / count
        self.mean.copy_(mean)
        self.std.copy_((squares / count - mean**2).clamp_min(VARIANCE_FLOOR).sqrt())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return (observations - self.mean) / self.std


def mlp(inputs: int, hidden: Sequence[int], outputs: int, activation: str = "tanh",
        standardize: bool = False) -> nn.Sequential:  # fmt: skip
    """[standardize ->] inputs -> hidden... -> outputs; the paper's CartPole net is 4-20-20-2 (D = 562)."""
    if activation not in ACTIVATIONS:
        raise BadInput(f"unknown activation {activation!r} in task.model; use one of {', '.join(ACTIVATIONS)}")
    sizes = [inputs, *hidden]
    layers: list[nn.Module] = [Standardize(inputs)] if standardize else []
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
