"""A stored subspace run rebuilt from its result: the settings it keeps (its identity) and its theta_d.

The projection is regenerated from its seed and theta_0 from the init seed or the pretrained weights, built by
the task's family in the order every run is built (tasks.family.seeded_build);
`SubspaceModel.load_state_dict` checks kind, d, seed and theta_0's digest, so a model that differs from the
trained one is refused rather than bounded.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from intrinsic_dim.errors import DataError
from intrinsic_dim.runs import store
from intrinsic_dim.tasks.family import Built, family_named, seeded_build


def with_paths(node, paths: DictConfig):
    """The identity's "<paths.key>" placeholders replaced by this machine's folders."""
    if isinstance(node, dict):
        return {key: with_paths(value, paths) for key, value in node.items()}
    if isinstance(node, list):
        return [with_paths(value, paths) for value in node]
    if isinstance(node, str):
        for key in paths:
            node = node.replace(f"<paths.{key}>", str(paths[key]))
    return node


def run_config(result: dict, paths: DictConfig) -> DictConfig:
    return OmegaConf.create(with_paths(result["identity"], paths))


def restore(directory: Path, paths: DictConfig) -> tuple[DictConfig, Built]:
    """(the run's settings, its data and trained SubspaceModel) from the run stored in `directory`."""
    fix = f"train that run again (delete {directory} and rerun its sweep stage)"
    result = store.read(directory, fix)
    if result["kind"] == "none":
        raise DataError(f"{directory} is a full-space run: only subspace runs have a short description")
    cfg = run_config(result, paths)
    if "augment" in cfg.task.data:  # a bound's training error is over the training examples themselves
        cfg.task.data.augment = False
    built = seeded_build(family_named(cfg.task.family), cfg)
    try:
        state = torch.load(directory / store.STATE_FILE, weights_only=False)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:  # missing, truncated, not torch's
        raise DataError(f"{directory / store.STATE_FILE} is unreadable ({type(error).__name__}); {fix}") from error
    built.model.load_state_dict(state)
    return cfg, built
