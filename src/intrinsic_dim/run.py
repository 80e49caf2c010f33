"""One run of a task, the engine's unit of work: reuse its stored result, or train it and store the result.

Every entry point comes here: a single CLI run, each job of a Hydra multirun, each run a study launches.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import torch
from omegaconf import DictConfig

from intrinsic_dim import job, tracking
from intrinsic_dim.errors import BadInput
from intrinsic_dim.machine import cpu_name
from intrinsic_dim.memory import reuse_freed_memory
from intrinsic_dim.study import store
from intrinsic_dim.study.identity import run_key
from intrinsic_dim.subspace import SubspaceModel, trainable_tensors

log = logging.getLogger(__name__)


def check(cfg: DictConfig) -> None:
    """The run's own settings, checked before anything is built."""
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool):
        raise BadInput(f"seed must be an integer, got {cfg.seed!r}; pass seed=<integer>")
    if cfg.subspace.kind != "none" and (not isinstance(cfg.subspace.d, int) or cfg.subspace.d < 1):
        raise BadInput(f"subspace.d must be a positive integer, got {cfg.subspace.d!r}; pass subspace.d=<integer>")


@contextlib.contextmanager
def output_to(path: Path, enabled: bool) -> Iterator[None]:
    """Send everything written to stdout and stderr (also by C code and child threads) to `path`."""
    if not enabled:
        yield
        return
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with path.open("a", buffering=1) as file:
            os.dup2(file.fileno(), 1), os.dup2(file.fileno(), 2)
            try:
                with contextlib.redirect_stdout(file), contextlib.redirect_stderr(file):
                    yield
            finally:
                sys.stdout.flush(), sys.stderr.flush()
                os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    finally:
        os.close(saved[0]), os.close(saved[1])


def describe(model: torch.nn.Module) -> tuple[int, int, dict | None]:
    """D, the number of trainable tensors, and the state to store (theta_d, scales, buffers; None in full space)."""
    if isinstance(model, SubspaceModel):
        state = {name: value.detach().cpu() if torch.is_tensor(value) else value
                 for name, value in model.state_dict().items()}  # fmt: skip
        return model.projection.D, len(model.projection.sizes), state
    tensors, _ = trainable_tensors(model)
    return sum(tensor.numel() for tensor in tensors), len(tensors), None


def run(cfg: DictConfig) -> dict:
    """The run's result: read from the store if this exact run is finished, else trained now and stored."""
    check(cfg)
    key, settings, code = run_key(cfg)
    kind, d, seed = cfg.subspace.kind, cfg.subspace.d, cfg.seed
    directory = store.run_dir(cfg.paths.results_dir, cfg.task.family, cfg.task.name, kind, d, seed, key)
    stored = store.load(directory, key)
    if stored is not None:
        return stored
    store.ensure_writable(directory.parent)
    attempt = Path(cfg.paths.output_dir) / key[:10]
    shutil.rmtree(attempt, ignore_errors=True)  # the logs of an earlier attempt that never finished
    attempt.mkdir(parents=True)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    reuse_freed_memory()
    name = f"{cfg.task.name}/{kind}" + (f"/d{d}" if kind != "none" else "") + f"/s{seed}"
    with output_to(attempt / "output.log", enabled=cfg.quiet):
        with tracking.wandb_run(
            cfg.logger, attempt, cfg.quiet, name=name, group=cfg.task.family, job_type=store.stage_of(kind),
            config={"identity": settings, "code": code, "key": key},
        ) as wandb_run:  # fmt: skip
            started = time.perf_counter()
            try:
                output = job.execute(cfg, job.RunContext(attempt, wandb_run))
            except Exception:
                if cfg.quiet:  # into this attempt's output.log, which the study's failure line points to
                    traceback.print_exc()
                raise
            seconds = time.perf_counter() - started
            if wandb_run is not None:
                wandb_run.summary.update(output.metrics)
    D, tensors, state = describe(output.model)
    result = {
        "key": key,
        "task": cfg.task.name,
        "family": cfg.task.family,
        "kind": kind,
        "d": d,
        "seed": seed,
        "projection_seed": cfg.subspace.seed if kind != "none" else None,
        "D": D,
        "tensors": tensors,
        "metrics": output.metrics,
        "state": store.STATE_FILE if state is not None else None,
        "identity": settings,  # the resolved settings: enough to rebuild the run, projection included
        "code": code,
        "provenance": {
            "seconds": round(seconds, 3),
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(),
            "cpu": cpu_name(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "log_dir": str(attempt),
        },
    }
    store.save(directory, result, state)
    return result
