"""The toy problem of Li et al. 2018 (Sec. 2), whose intrinsic dimension is known to be exactly `groups`.

D = groups * group_size parameters; the loss asks group k to sum to k. Its solutions form an affine subspace
of codimension `groups`, so a random d-dimensional subspace reaches zero loss iff d >= groups.
"""

from __future__ import annotations

import torch
from torch import nn


class GroupSums(nn.Module):
    def __init__(self, groups: int, group_size: int, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.theta = nn.Parameter(torch.randn(groups * group_size, generator=generator, dtype=torch.float64))
        self.register_buffer("targets", torch.arange(1, groups + 1, dtype=torch.float64))

    def forward(self) -> torch.Tensor:
        """The loss: squared distance of the group sums from 1, 2, ..., groups."""
        sums = self.theta.view(len(self.targets), -1).sum(1)
        return (sums - self.targets).square().sum()


def minimize(model: nn.Module, lr: float, max_iterations: int) -> None:
    """Full-batch L-BFGS to (numerical) convergence."""
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        lr=lr,
        max_iter=max_iterations,
        tolerance_grad=1e-12,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = model()
        loss.backward()
        return loss

    optimizer.step(closure)
