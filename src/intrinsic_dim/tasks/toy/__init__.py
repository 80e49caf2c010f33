"""The toy problem of Li et al. 2018 (Sec. 2), whose intrinsic dimension is known: the engine checked end to end."""

import torch
from omegaconf import DictConfig

from intrinsic_dim.tasks.family import Built, Family, RunContext, in_subspace, register
from intrinsic_dim.tasks.toy.problem import GroupSums, minimize


class Toy(Family):
    name = "toy"

    def build(self, cfg: DictConfig) -> Built:
        return Built(None, in_subspace(GroupSums(cfg.task.groups, cfg.task.group_size, cfg.seed), cfg.subspace))

    def fit(self, cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
        """Full-batch L-BFGS to convergence; the loss at theta_0, which the run starts from."""
        initial = self.loss(built)
        minimize(built.model, cfg.subspace.lr, cfg.task.max_iterations)
        return {"initial_loss": initial}

    def evaluate(self, cfg: DictConfig, built: Built, splits: list[str]) -> dict[str, float]:
        return {"loss": self.loss(built)}  # no data, no splits

    def reports(self, cfg: DictConfig) -> list[str]:
        return ["initial_loss", "loss"]

    @staticmethod
    def loss(built: Built) -> float:
        with torch.no_grad():
            return built.model().item()


register(Toy())
