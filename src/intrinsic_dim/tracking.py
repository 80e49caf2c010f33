"""W&B runs that never stall or break a job: bounded start, offline fallback, failures that end only the logging,
always finished."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

log = logging.getLogger(__name__)
_online_failed = False  # once W&B could not start online in this process, later runs go offline at once


def _init(logger: DictConfig, mode: str, directory: Path, quiet: bool, **run_settings):
    import wandb

    settings = wandb.Settings(init_timeout=logger.init_timeout, silent=quiet, console="off" if quiet else "auto")
    return wandb.init(project=logger.project, mode=mode, dir=str(directory), settings=settings, **run_settings)


class Tolerant:
    """A W&B run whose failures (its service killed with a cancelled job, a full disk) stop its logging with one
    warning instead of failing the run. Calls go to the W&B run; `summary` and `config` are wrapped the same way."""

    def __init__(self, run: Any, state: dict | None = None) -> None:
        self._run = run
        self._state = state if state is not None else {"broken": False}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._run, name)
        if name in ("summary", "config"):
            return Tolerant(value, self._state)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            if self._state["broken"]:
                return None
            try:
                return value(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - whatever W&B raises, the run goes on without it
                self._state["broken"] = True
                log.warning("W&B failed (%s: %s); this run goes on without W&B", type(error).__name__, error)
                return None

        return call


def start(logger: DictConfig, directory: Path, quiet: bool = False, **run_settings) -> Any | None:
    """A W&B run in `directory`, or None if the logger is not W&B or W&B cannot start at all.

    `run_settings` go to wandb.init (name, group, job_type, config). Online, a start that takes longer than
    `logger.init_timeout` seconds falls back to offline mode (sync later with `wandb sync`).
    """
    global _online_failed
    if logger.backend != "wandb" or logger.mode == "disabled":
        return None
    directory.mkdir(parents=True, exist_ok=True)
    mode = "offline" if _online_failed else logger.mode
    try:
        return Tolerant(_init(logger, mode, directory, quiet, **run_settings))
    except Exception as error:  # W&B raises many kinds (CommError, UsageError, timeouts): none may cost the run
        if mode == "offline":
            log.warning("W&B could not start (%s); this run is not logged to W&B", error)
            return None
        _online_failed = True
        log.warning("W&B could not start online (%s); logging offline instead", str(error).splitlines()[0])
    try:
        return Tolerant(_init(logger, "offline", directory, quiet, **run_settings))
    except Exception as error:
        log.warning("W&B could not start offline either (%s); this run is not logged to W&B", error)
        return None


@contextlib.contextmanager
def wandb_run(logger: DictConfig, directory: Path, quiet: bool = False, **run_settings) -> Iterator[Any | None]:
    """`start`, and finish the run even after a failure, so the next run never logs into it."""
    run = start(logger, directory, quiet, **run_settings)
    try:
        yield run
    finally:
        if run is not None:
            run.finish()
