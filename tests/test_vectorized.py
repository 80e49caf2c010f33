"""Runs trained together (intrinsic_dim.core.vectorized) against the same runs trained alone."""

import pytest
import torch
from torch import nn

from intrinsic_dim.config import compose
from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.core.vectorized import VectorizedRuns
from intrinsic_dim.errors import BadInput
from intrinsic_dim.run import build, fit_group, fit_one
from intrinsic_dim.tasks.family import RunContext

KINDS = ["dense", "sparse", "fastfood", "said"]


def net(seed: int, hidden: int = 16) -> nn.Module:
    torch.manual_seed(seed)  # each run its own theta_0, as runs with different seeds have
    return nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 4))


def conv_net(seed: int) -> nn.Module:
    """Inputs of 8 values as 2 channels of 2x2: called once per run, not vmapped."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Unflatten(1, (2, 2, 2)), nn.Conv2d(2, 3, 2, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(27, 4))  # fmt: skip


def runs(kind: str, count: int = 3, d: int = 20, build=net) -> list[SubspaceModel]:
    return [SubspaceModel(build(seed), kind, d, seed) for seed in range(count)]


def moved(models: list[SubspaceModel]) -> list[SubspaceModel]:
    with torch.no_grad():
        for seed, model in enumerate(models):
            model.theta_d.copy_(torch.randn(model.theta_d.shape, generator=torch.Generator().manual_seed(10 + seed)))
    return models


@pytest.mark.parametrize("kind, build", [*((kind, net) for kind in KINDS), ("fastfood", conv_net)])
def test_outputs_and_gradients_are_each_runs_own(kind, build):
    together = VectorizedRuns(moved(runs(kind, build=build)))
    assert together.vmapped == (build is net)
    inputs, labels = torch.randn(3, 5, 8), torch.randint(0, 4, (3, 5))
    outputs = together(inputs)
    loss = sum(nn.functional.cross_entropy(output, label) for output, label in zip(outputs, labels, strict=True))
    loss.backward()
    alone = moved(runs(kind, build=build))
    for model, seen, label, output, grouped in zip(alone, inputs, labels, outputs, together.runs, strict=True):
        expected = model(seen)
        nn.functional.cross_entropy(expected, label).backward()
        torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grouped.theta_d.grad, model.theta_d.grad, rtol=1e-4, atol=1e-6)
        assert model.theta_d.grad.abs().sum() > 0


@pytest.mark.parametrize("build", [net, conv_net])
def test_a_shared_batch_gives_each_run_its_own_outputs(build):
    together = VectorizedRuns(moved(runs("fastfood", build=build)))
    batch = torch.randn(5, 8)
    outputs = together(batch, shared=True)
    for model, output in zip(moved(runs("fastfood", build=build)), outputs, strict=True):
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


def classifier_config(prepared, tmp_path, seed: int, d: int):
    cfg = compose(["task=mnist_fc", "profile=test", "subspace=fastfood", f"subspace.d={d}", f"seed={seed}",
                   f"dataset.prepared={prepared}", "logger=csv", "task.budgets.test.limit=256",
                   "task.budgets.test.epochs=4", "trainer.enable_progress_bar=false"])  # fmt: skip
    cfg.paths.output_dir = str(tmp_path)
    return cfg


def test_classification_runs_trained_together_end_as_each_run_alone(prepared_subset, tmp_path):
    """Two MNIST FC runs (seeds 0 and 1, d = 64 and 200, each its own rate): 4 epochs of 256 examples."""
    cfgs = [classifier_config(prepared_subset, tmp_path, seed, d) for seed, d in ((0, 64), (1, 200))]
    contexts = [RunContext(log_dir=tmp_path / "together", wandb_run=None)] * 2
    together = fit_group(cfgs, [build(cfg) for cfg in cfgs], contexts)
    for cfg, grouped in zip(cfgs, together, strict=True):
        alone = fit_one(cfg, build(cfg), RunContext(log_dir=tmp_path / f"alone{cfg.seed}", wandb_run=None))
        assert set(grouped.metrics) == set(alone.metrics) == {"train/loss", "val/acc", "test/acc"}
        for name in ("val/acc", "test/acc"):
            assert grouped.metrics[name] == pytest.approx(alone.metrics[name], abs=1 / 256 + 1e-6)  # one example
        assert grouped.metrics["train/loss"] == pytest.approx(alone.metrics["train/loss"], rel=1e-3)
        assert alone.model.theta_d.abs().sum() > 0
        torch.testing.assert_close(grouped.model.theta_d, alone.model.theta_d, rtol=1e-3, atol=1e-5)
        torch.testing.assert_close(grouped.model.theta_0, alone.model.theta_0)  # the same init draws


def test_runs_of_different_tasks_are_not_trained_together(prepared_subset, tmp_path):
    cfgs = [classifier_config(prepared_subset, tmp_path, 0, 64), classifier_config(prepared_subset, tmp_path, 1, 64)]
    cfgs[1].task.data.batch_size = 64
    with pytest.raises(BadInput, match="must share their task settings"):
        fit_group(cfgs, [build(cfg) for cfg in cfgs], [RunContext(log_dir=tmp_path, wandb_run=None)] * 2)


def test_full_space_runs_are_not_trained_together(prepared_subset, tmp_path):
    cfgs = [classifier_config(prepared_subset, tmp_path, seed, 64) for seed in (0, 1)]
    for cfg in cfgs:
        cfg.subspace = compose(["task=mnist_fc", "profile=test", "subspace=none"]).subspace
    with pytest.raises(BadInput, match="only subspace runs are trained together"):
        fit_group(cfgs, [build(cfg) for cfg in cfgs], [RunContext(log_dir=tmp_path, wandb_run=None)] * 2)
