"""The toy problem of Li et al. 2018 (Sec. 2), whose intrinsic dimension is known to be exactly `groups`.

D = groups * group_size parameters; the loss asks group k to sum to k. Its solutions form an affine subspace
of codimension `groups`, so a random d-dimensional subspace reaches zero loss iff d >= groups.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch import nn

from intrinsic_dim.job import JobOutput, RunContext, in_subspace


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


def minimize(model: nn.Module, lr: float, max_iterations: int) -> float:
    """Full-batch L-BFGS to (numerical) convergence; the final loss."""
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
    with torch.no_grad():
        return model().item()


def solve(cfg: DictConfig, context: RunContext) -> JobOutput:
    model = in_subspace(GroupSums(cfg.task.groups, cfg.task.group_size, cfg.seed), cfg.subspace)
    with torch.no_grad():
        initial = model().item()
    loss = minimize(model, cfg.subspace.lr, cfg.task.max_iterations)
    if context.wandb_run is not None:
        context.wandb_run.log({"loss": loss, "initial_loss": initial})
    return JobOutput(metrics={"loss": loss, "initial_loss": initial}, model=model)
