"""The contract between the engine and a task's job: what a job gets, what it returns, how it starts.

A job is a function `(cfg, context) -> JobOutput` named by `task.job`. It trains one run of its task and
returns the metrics it measured and the trained model; the engine (intrinsic_dim.run) decides whether the
run is needed at all, logs it, and stores its result. Everything a job executes, this module included, is
part of the run's code fingerprint (intrinsic_dim.study.identity).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import get_method
from omegaconf import DictConfig
from torch import nn

from intrinsic_dim.subspace import SubspaceModel


@dataclass(frozen=True)
class RunContext:
    log_dir: Path  # this attempt's own folder for logs (W&B, CSV)
    wandb_run: Any | None  # the open W&B run, or None when W&B is off or could not start


@dataclass(frozen=True)
class JobOutput:
    metrics: dict[str, float]  # e.g. {"val/acc": 0.97, "test/acc": 0.96}
    model: nn.Module  # the trained model: a SubspaceModel, or the full network for subspace=none


def in_subspace(net: nn.Module, subspace: DictConfig) -> nn.Module:
    """`net` reparametrized in the configured subspace, or unchanged for the full-space baseline."""
    if subspace.kind == "none":
        return net
    return SubspaceModel(net, subspace.kind, subspace.d, subspace.seed)


def execute(cfg: DictConfig, context: RunContext) -> JobOutput:
    """Seed everything from the run's seed, then run the task's job."""
    import lightning as L  # seconds to import: planning and checking a study never need it

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    return get_method(cfg.task.job)(cfg, context)
