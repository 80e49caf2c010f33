"""Reinforcement learning (Li et al. 2018, Sec. 3.4): policies trained in a subspace by evolution strategies
(evotorch) or DQN (stable-baselines3), on gymnasium environments; `task.algorithm` chooses."""

from omegaconf import DictConfig

from intrinsic_dim.errors import BadInput
from intrinsic_dim.tasks.family import Built, Family, RunContext, register

REPORTS = {  # what a run of each algorithm stores
    "es": ["eval/return", "eval/env_restarts", "train/env_steps", "train/generations", "train/env_restarts"],
    "dqn": ["eval/return", "train/env_steps"],
}


def algorithm(cfg: DictConfig):
    """The module (build, fit, evaluate) of the task's algorithm."""
    from intrinsic_dim.tasks.rl import dqn, es

    modules = {"es": es, "dqn": dqn}
    return modules[checked(cfg)]


def checked(cfg: DictConfig) -> str:
    if cfg.task.algorithm not in REPORTS:
        raise BadInput(f"task {cfg.task.name}: algorithm {cfg.task.algorithm!r} is not one of {', '.join(REPORTS)}")
    return cfg.task.algorithm


class RL(Family):
    name = "rl"
    libraries = (*Family.libraries, "gymnasium", "mujoco", "ale-py", "evotorch", "stable-baselines3")

    def build(self, cfg: DictConfig) -> Built:
        return algorithm(cfg).build(cfg)

    def fit(self, cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
        return algorithm(cfg).fit(cfg, built, context)

    def evaluate(self, cfg: DictConfig, built: Built, splits: list[str]) -> dict[str, float]:
        return algorithm(cfg).evaluate(cfg, built)

    def reports(self, cfg: DictConfig) -> list[str]:
        return REPORTS[checked(cfg)]


register(RL())
