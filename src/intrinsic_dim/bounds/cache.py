"""Bounded runs kept on disk, one file per (run, bound options, bound code): a rerun reuses them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from intrinsic_dim.bounds.evaluate import bound_run
from intrinsic_dim.runs import store
from intrinsic_dim.runs.atomic import write_json
from intrinsic_dim.runs.identity import code_fingerprint


def bounds_key(run_key: str, options: DictConfig, kinds: int) -> str:
    settings = OmegaConf.to_container(options, resolve=True)
    settings.pop("trainer")  # where the fine-tune runs, not what it computes
    code = code_fingerprint(("intrinsic_dim.bounds.evaluate",))
    text = json.dumps({"run": run_key, "options": settings, "kinds": kinds, "code": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def bounded(
    run_dir: Path, cache_dir: Path, paths: DictConfig, options: DictConfig, kinds: int
) -> tuple[list[dict], bool]:
    """(the rows of every option for the run in `run_dir`, whether they were read from `cache_dir`)."""
    result = store.read(run_dir, f"delete {run_dir} and rerun the sweep stage")
    path = cache_dir / result["task"] / f"{run_dir.name}-{bounds_key(result['key'], options, kinds)[:10]}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text()), True
        except (OSError, json.JSONDecodeError):
            pass  # damaged: bound the run again
    store.ensure_writable(path.parent, setting="paths.results_dir")
    rows = bound_run(run_dir, paths, options, kinds)
    write_json(path, rows)
    return rows, False
