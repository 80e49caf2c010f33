"""Compose the Hydra config from code (pipelines, tests), with the same conf/ the CLI uses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """The config `python -m intrinsic_dim.train <overrides>` would see, without running Hydra's app.

    The `hydra:` resolver works on the result; `paths.output_dir` stays for the caller to set, since no
    Hydra job runs here.
    """
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def plain(cfg: DictConfig) -> dict:
    """The resolved config as plain data, without Hydra's own node: what a result records."""
    return OmegaConf.to_container(OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"]), resolve=True)
