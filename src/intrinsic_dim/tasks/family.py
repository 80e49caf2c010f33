"""The contract between the engine and a task family, and the registry of families by name.

A family is one folder under `tasks/` (or any importable module, named by its dotted path) that registers a
`Family` when imported. A task's YAML names its family (`family: vision`) and gives its settings; the engine
(intrinsic_dim.run) seeds everything from the run's seed, then calls `build`, `fit` (or `fit_group` for several
runs at once) and `evaluate`. Nothing outside a family's folder knows which families exist: `family_named`
imports the folder of that name on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from torch import nn

from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.errors import BadInput


@dataclass(frozen=True)
class RunContext:
    log_dir: Path  # this attempt's own folder for logs (W&B, CSV)
    wandb_run: Any | None  # the open W&B run, or None when W&B is off or could not start


@dataclass
class Built:
    """A run's data (None where the family makes its own, as environments) and its model; `fit` may replace the
    model by the trained one (an ES search's center, a DQN's Q-network). `state`: whatever else the family keeps
    from building to evaluation (an ES population)."""

    data: Any
    model: nn.Module | None
    state: Any = None


def in_subspace(net: nn.Module, subspace) -> nn.Module:
    """`net` reparametrized in the configured subspace (kind, d, seed), or unchanged for the full-space baseline."""
    if subspace.kind == "none":
        return net
    return SubspaceModel(net, subspace.kind, subspace.d, subspace.seed)


class Family:
    """What a task family does. `fit_group` is optional (`trains_together`): without it every run trains alone.
    A family's module should stay light to import (heavy libraries imported inside the methods): a study imports
    it to plan, and a bad setting should fail in seconds."""

    name: str
    libraries: tuple[str, ...] = ("torch", "numpy", "lightning")  # their versions enter the runs' keys

    def build(self, cfg: DictConfig) -> Built:
        """The run's data and model (in its subspace), drawn in one fixed order after the engine seeded the run."""
        raise NotImplementedError

    def fit(self, cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
        """Train `built.model`; the metrics only training measures (e.g. the loss before training)."""
        raise NotImplementedError

    def trains_together(self, cfg: DictConfig) -> bool:
        """Whether the task's subspace runs go through `fit_group` (alone, as a group of one): its runs then
        have the same numbers whichever runs they are trained with."""
        return False

    def fit_group(self, cfgs: list[DictConfig], builts: list[Built], contexts: list[RunContext]) -> list[dict]:
        """Train the runs of one task and kind as one model: `fit`'s metrics for each run, in order."""
        raise NotImplementedError

    def evaluate(self, cfg: DictConfig, built: Built, splits: list[str]) -> dict[str, float]:
        """The trained model's metrics on each split (`<split>/<metric>`; a family without splits ignores them)."""
        raise NotImplementedError

    def reports(self, cfg: DictConfig) -> list[str]:
        """The names of the metrics every run of the task stores: what a study may read."""
        raise NotImplementedError


def seeded_build(family: Family, cfg: DictConfig) -> Built:
    """Seed everything from the run's seed, then build: the one order of random draws of every run."""
    import lightning as L  # seconds to import: planning and checking a study never need it

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    return family.build(cfg)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def module_of(name: str) -> str:
    """The module that registers family `name`: a folder of this package, or a dotted path of the user's."""
    return name if "." in name else f"{__package__}.{name}"


def available() -> list[str]:
    """The family folders of this package (for error messages)."""
    return sorted(module.name for module in pkgutil.iter_modules([str(Path(__file__).parent)]) if module.ispkg)


def family_named(name: str) -> Family:
    if name not in FAMILIES:
        module = module_of(name)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise
            raise BadInput(
                f"unknown task family {name!r}; set task.family to one of {', '.join(available())} "
                "or to the dotted path of a module that registers one"
            ) from None
        if name not in FAMILIES:
            raise BadInput(f"module {module} registers no family named {name!r}; call family.register in it")
    return FAMILIES[name]
