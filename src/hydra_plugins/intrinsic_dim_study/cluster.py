"""`hydra/launcher=slurm`: hydra-submitit-launcher's SLURM launcher, fit for studies.

Each job is submitted on its own, named by its runs (task/kind/d/seed), and a job that leaves no result (scancel,
kill -9, out of memory, a lost node) comes back as that job's failure instead of ending the round: the study lists
it in one line with its log and stores every other run. submitit requeues jobs that time out or are preempted
(`cluster.requeues`); a requeued job reads the runs it had finished from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf


class JobLost(RuntimeError):
    """A cluster job that ended without a result."""


def job_name(overrides: Sequence[str]) -> str:
    """task/kind/d/seed of a job's first run, and how many runs it trains with it: `mnist_fc/fastfood/d300/s0+3`."""
    values = dict(override.split("=", 1) for override in overrides if "=" in override)
    kind = values.get("subspace", "none")
    d = f"/d{values['subspace.d']}" if kind != "none" and "subspace.d" in values else ""
    together = values.get("together", "[]").count("seed:")
    return f"{values.get('task', 'run')}/{kind}{d}/s{values.get('seed', 0)}" + (f"+{together}" if together else "")


class StudySlurmLauncher(SlurmLauncher):
    def executor(self):
        import submitit

        settings = dict(self.params)
        folder = settings.pop("submitit_folder")
        executor = submitit.AutoExecutor(folder=folder, slurm_max_num_timeout=settings.pop("max_num_timeout", 0))
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{(key if key in shared else f"slurm_{key}"): value
                                      for key, value in settings.items()})  # fmt: skip
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        executor = self.executor()
        jobs = []
        for index, overrides in enumerate(job_overrides, start=initial_job_idx):
            executor.update_parameters(name=job_name(overrides))
            arguments = (list(overrides), "hydra.sweep.dir", index, f"job_id_for_{index}", Singleton.get_state())
            jobs.append(executor.submit(self, *arguments))
        return [self.outcome(job) for job in jobs]

    @staticmethod
    def outcome(job) -> JobReturn:
        """The job's return, or its failure if it left none (the job's own failures come back as returns)."""
        try:
            return job.results()[0]
        except Exception:  # noqa: BLE001 - submitit's UncompletedJobError or FailedJobError: the job is gone
            lost = JobReturn()
            lost.status = JobStatus.FAILED
            lost._return_value = JobLost(
                f"SLURM job {job.job_id} ended {job.state} without a result (its log: {job.paths.stderr})"
            )
            return lost
