"""The toy problem of Li et al. 2018, whose intrinsic dimension is known to be exactly 10.

D = 1000 parameters in 10 groups of 100; the loss asks group k to sum to k. The solutions form an affine
subspace of codimension 10, so a random d-dimensional subspace reaches zero loss iff d >= 10.
"""

import pytest
import torch
from torch import nn

from helpers import materialize
from intrinsic_dim import SubspaceModel

GROUPS, GROUP_SIZE = 10, 100
TARGETS = torch.arange(1, GROUPS + 1, dtype=torch.float64)


class GroupSums(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.randn(GROUPS * GROUP_SIZE, generator=torch.Generator().manual_seed(0)))

    def forward(self) -> torch.Tensor:
        return self.theta.view(GROUPS, GROUP_SIZE).sum(1)


def trained_loss(model: SubspaceModel) -> float:
    optimizer = torch.optim.LBFGS(
        model.parameters(), max_iter=500, tolerance_grad=1e-12, tolerance_change=0.0, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = (model() - TARGETS).square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return closure().item()


@pytest.mark.parametrize("kind", ["dense", "fastfood"])
def test_intrinsic_dimension_is_ten(kind):
    solved = SubspaceModel(GroupSums(), kind, d=10, seed=0).double()
    assert trained_loss(solved) < 1e-12

    short = SubspaceModel(GroupSums(), kind, d=9, seed=0).double()
    loss = trained_loss(short)
    # the best any 9-dimensional subspace can do: the least-squares residual of the group-sum map restricted to P
    sums_of_columns = materialize(short.projection).view(GROUPS, GROUP_SIZE, 9).sum(1)
    start = short.theta_0.view(GROUPS, GROUP_SIZE).sum(1)
    solution = torch.linalg.lstsq(sums_of_columns, TARGETS - start).solution
    residual = (sums_of_columns @ solution - (TARGETS - start)).square().sum().item()
    assert residual > 1.0
    assert loss == pytest.approx(residual, rel=1e-6)
