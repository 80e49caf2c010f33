"""The toy problem of Li et al. 2018 (intrinsic_dim.tasks.toy), whose intrinsic dimension is exactly 10."""

import pytest
import torch

from helpers import materialize
from intrinsic_dim import SubspaceModel
from intrinsic_dim.tasks.toy.problem import GroupSums, minimize


def minimized(model, **settings) -> float:
    minimize(model, **settings)
    with torch.no_grad():
        return model().item()


@pytest.mark.parametrize("kind", ["dense", "sparse", "fastfood"])
def test_intrinsic_dimension_is_ten(kind):
    solved = SubspaceModel(GroupSums(10, 100, seed=0), kind, d=10, seed=0)
    assert minimized(solved, lr=1.0, max_iterations=500) < 1e-12

    short = SubspaceModel(GroupSums(10, 100, seed=0), kind, d=9, seed=0)
    loss = minimized(short, lr=1.0, max_iterations=500)
    # the best any 9-dimensional subspace can do: the least-squares residual of the group-sum map restricted to P
    sums_of_columns = materialize(short.projection).view(10, 100, 9).sum(1)
    start = short.theta_0.view(10, 100).sum(1)
    targets = torch.arange(1, 11, dtype=torch.float64)
    solution = torch.linalg.lstsq(sums_of_columns, targets - start).solution
    residual = (sums_of_columns @ solution - (targets - start)).square().sum().item()
    assert residual > 1.0
    assert loss == pytest.approx(residual, rel=1e-6)
