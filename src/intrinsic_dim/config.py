"""Compose the Hydra config from code (pipelines, tests), with the same conf/ the CLI uses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def rate_at_dimension(rate: float, d: int | None, reference_d: int | None) -> float:
    """A subspace learning rate: `rate` at d = `reference_d`, scaled by sqrt(reference_d / d) elsewhere.

    Adam moves every coordinate of theta_d by about the rate per step, so the weights move ~rate * sqrt(d):
    this keeps that step the same at every d. With no reference_d the rate is the same at every d; with no d
    (the full space, where a config may still resolve the subspace's value) it is `rate`.
    """
    return rate if reference_d is None or d is None else rate * math.sqrt(reference_d / d)


OmegaConf.register_new_resolver("rate_at_d", rate_at_dimension, replace=True)  # conf/subspace/*.yaml


def compose(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """The config `python -m intrinsic_dim.train <overrides>` would see, without running Hydra's app.

    The `hydra:` resolver works on the result; `paths.output_dir` stays for the caller to set, since no
    Hydra job runs here.
    """
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def pipeline_profile() -> str:
    """The profile `dvc repro` runs (conf/pipeline.yaml)."""
    return OmegaConf.load(CONF_DIR / "pipeline.yaml").profile


def profile_datasets(profile: str) -> list[str]:
    """The datasets the tasks of `profile` read, each once, in the order the profile lists its tasks."""
    names: list[str] = []
    for task in compose([f"profile={profile}"]).profile.tasks:
        dataset = compose([f"profile={profile}", f"task={task}"]).get("dataset")
        if dataset is not None and dataset.name not in names:
            names.append(dataset.name)
    return names


def requested_datasets(arguments: Sequence[str]) -> tuple[list[str], list[str]]:
    """(dataset names, the remaining overrides) of a data command's arguments: the one `dataset=<name>`, else every
    dataset of `profile=<name>` (by default the profile of conf/pipeline.yaml)."""

    def last(key: str) -> str | None:
        values = [argument.split("=", 1)[1] for argument in arguments if argument.startswith(f"{key}=")]
        return values[-1] if values else None

    others = [argument for argument in arguments if not argument.startswith(("profile=", "dataset="))]
    dataset = last("dataset")
    return ([dataset] if dataset else profile_datasets(last("profile") or pipeline_profile())), others
