"""Runs trained together (intrinsic_dim.vectorized) against the same runs trained alone."""

import pytest
import torch
from torch import nn

from intrinsic_dim.errors import BadInput
from intrinsic_dim.subspace import SubspaceModel
from intrinsic_dim.vectorized import VectorizedRuns

KINDS = ["dense", "sparse", "fastfood", "said"]


def net(seed: int, hidden: int = 16) -> nn.Module:
    torch.manual_seed(seed)  # each run its own theta_0, as runs with different seeds have
    return nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 4))


def runs(kind: str, count: int = 3, d: int = 20) -> list[SubspaceModel]:
    return [SubspaceModel(net(seed), kind, d, seed) for seed in range(count)]


def moved(models: list[SubspaceModel]) -> list[SubspaceModel]:
    with torch.no_grad():
        for seed, model in enumerate(models):
            model.theta_d.copy_(torch.randn(model.theta_d.shape, generator=torch.Generator().manual_seed(10 + seed)))
    return models


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_and_gradients_are_each_runs_own(kind):
    together = VectorizedRuns(moved(runs(kind)))
    inputs, labels = torch.randn(3, 5, 8), torch.randint(0, 4, (3, 5))
    outputs = together(inputs)
    loss = sum(nn.functional.cross_entropy(output, label) for output, label in zip(outputs, labels, strict=True))
    loss.backward()
    alone = moved(runs(kind))
    for model, seen, label, output, grouped in zip(alone, inputs, labels, outputs, together.runs, strict=True):
        expected = model(seen)
        nn.functional.cross_entropy(expected, label).backward()
        torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grouped.theta_d.grad, model.theta_d.grad, rtol=1e-4, atol=1e-6)
        assert model.theta_d.grad.abs().sum() > 0


def test_a_shared_batch_gives_each_run_its_own_outputs():
    together = VectorizedRuns(moved(runs("fastfood")))
    batch = torch.randn(5, 8)
    outputs = together(batch, shared=True)
    for model, output in zip(moved(runs("fastfood")), outputs, strict=True):
        torch.testing.assert_close(output, model(batch), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(outputs[0], outputs[1])  # different theta_0 and P: different functions


@pytest.mark.parametrize("kind", KINDS)
def test_one_adam_over_the_group_steps_each_run_as_if_alone(kind):
    together = VectorizedRuns(runs(kind))
    alone = runs(kind)
    grouped_optimizer = torch.optim.Adam(together.parameters(), lr=0.05)
    optimizers = [torch.optim.Adam(model.parameters(), lr=0.05) for model in alone]
    data = torch.Generator().manual_seed(0)
    for _ in range(5):
        inputs, labels = torch.randn(3, 6, 8, generator=data), torch.randint(0, 4, (3, 6), generator=data)
        grouped_optimizer.zero_grad()
        outputs = together(inputs)
        sum(nn.functional.cross_entropy(o, t) for o, t in zip(outputs, labels, strict=True)).backward()
        grouped_optimizer.step()
        for model, optimizer, seen, label in zip(alone, optimizers, inputs, labels, strict=True):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(seen), label).backward()
            optimizer.step()
    for model, grouped in zip(alone, together.runs, strict=True):
        assert model.theta_d.abs().sum() > 0
        torch.testing.assert_close(grouped.theta_d, model.theta_d, rtol=1e-4, atol=1e-6)


def test_runs_of_different_networks_or_with_batchnorm_are_refused():
    with pytest.raises(BadInput, match="share one network architecture"):
        VectorizedRuns([SubspaceModel(net(0), "fastfood", 20, 0), SubspaceModel(net(1, hidden=8), "fastfood", 20, 1)])
    normed = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.Linear(16, 4))
    with pytest.raises(BadInput, match="BatchNorm statistics.*one by one"):
        VectorizedRuns([SubspaceModel(normed, "fastfood", 20, 0)])
