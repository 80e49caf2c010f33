"""The Hydra app of a study stage (conf/study.yaml): its sweeper plans the runs, each job is one run
(or several of one task, trained together)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from intrinsic_dim.config import CONF_DIR
from intrinsic_dim.run import requested


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="study")
def main(cfg: DictConfig) -> list[dict]:
    return requested(cfg)
