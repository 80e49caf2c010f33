"""The Hydra app of a study stage (conf/study.yaml): its sweeper plans the runs, each job is one run
(or several of one task, trained together)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from intrinsic_dim.config import CONF_DIR, check_command_line
from intrinsic_dim.lifeline import follow_study
from intrinsic_dim.run import requested


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="study")
def main(cfg: DictConfig) -> list[dict]:
    follow_study()  # in a local worker process: end with the study
    return requested(cfg)


def run() -> None:
    """The study command: its command line checked first (one line for any problem), then the Hydra app."""
    check_command_line("study", "study")
    main()
