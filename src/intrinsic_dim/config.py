"""Compose the Hydra config from code (pipelines, tests), with the same conf/ the CLI uses."""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from intrinsic_dim.errors import BadInput, missing_option, one_line_errors
from intrinsic_dim.runs import store

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


UNKNOWN_KEY = re.compile(r"Could not override '([^']+)'")


def command_line_config(overrides: Sequence[str], config_name: str) -> DictConfig:
    """`compose`, with a setting or an option that does not exist named in one line with the closest existing
    ones (Hydra's own message suggests `+key=value`, which would add a setting nothing reads)."""
    try:
        return compose(overrides, config_name)
    except MissingConfigException as error:
        raise missing_option(error) from None
    except ConfigCompositionException as error:
        key = UNKNOWN_KEY.search(str(error))
        if key is None:
            raise
        parent, _, name = key.group(1).rpartition(".")
        node = OmegaConf.select(compose([], config_name), parent) if parent else compose([], config_name)
        keys = [str(existing) for existing in node.keys()] if OmegaConf.is_dict(node) else []
        close = difflib.get_close_matches(name, keys, n=3)
        where = f"{parent}." if parent else ""
        listed = f"{parent or 'the config'} has {', '.join(keys)}" if keys else f"{parent} has no settings"
        hint = f"did you mean {' or '.join(where + match for match in close)}?" if close else listed
        raise BadInput(f"{key.group(1)} is not a setting; {hint}") from None


HYDRA_FLAGS_WITH_VALUE = {"--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd"}


def command_line_overrides(arguments: Sequence[str]) -> list[str]:
    """The overrides among a Hydra app's arguments (its flags, such as -m, left out), a sweep (`d=8,16`) by its
    first value: enough to check every setting and option it names."""
    overrides, flag_value = [], False
    for argument in arguments:
        if not flag_value and not argument.startswith("-"):
            overrides.append(argument)
        flag_value = argument in HYDRA_FLAGS_WITH_VALUE
    return [f"{override.get_key_element()}={next(override.sweep_string_iterator())}"
            if override.is_sweep_override() else override.input_line
            for override in OverridesParser.create().parse_overrides(overrides)]  # fmt: skip


def check_command_line(program: str, config_name: str) -> None:
    """Before a Hydra app starts (and creates its log folder): its overrides and its log folder, checked, any
    problem ended in one line."""
    with one_line_errors(program):
        cfg = command_line_config(command_line_overrides(sys.argv[1:]), config_name)
        store.ensure_writable(Path(cfg.paths.log_dir), "paths.log_dir")
