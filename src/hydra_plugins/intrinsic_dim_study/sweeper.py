"""`hydra/sweeper=study`: a study stage as a Hydra multirun whose batches go through any Hydra launcher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.lifeline import mark_study


class StudySweeper(Sweeper):
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.next_job = 0
        mark_study()  # before the launcher starts any worker process, which inherits it

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))

    def launch(self, batch: list[list[str]]) -> list[tuple[bool, Any]]:
        returns = self.launcher.launch(batch, initial_job_idx=self.next_job)
        self.next_job += len(batch)
        outcomes = []
        for job in returns:
            try:
                outcomes.append((True, job.return_value))
            except Exception as error:  # the job failed; return_value re-raises its exception
                outcomes.append((False, error))
        return outcomes

    def sweep(self, arguments: list[str]) -> dict:
        from intrinsic_dim.study.coordinator import Study

        with one_line_errors(f"study {self.config.study.family} {self.config.study.stage}"):
            return Study(self.config, arguments, self.compose, self.launch).run()
