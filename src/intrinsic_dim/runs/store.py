"""The result store: one folder per run identity, holding result.json and (for subspace runs) subspace.pt.

results/<family>/<baseline|sweep>/<task>/<kind>-d<d>-s<seed>-<key>/ — readable, and unique per identity, so
runs of older code or settings stay beside the current ones and are never overwritten. A folder counts only
once its result.json is complete: files are written to a temporary name and renamed.
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
import tempfile
from pathlib import Path

import torch

from intrinsic_dim.errors import BadInput, DataError
from intrinsic_dim.runs.atomic import write_atomically, write_json

log = logging.getLogger(__name__)
RESULT_FILE = "result.json"
STATE_FILE = "subspace.pt"
REQUIRED = ("key", "task", "kind", "d", "seed", "D", "metrics")
_damaged: set[Path] = set()  # damaged results already reported by this process
FULL_BELOW = 64 * 2**20  # bytes free under which a failed write is put down to a full disk


def stage_of(kind: str) -> str:
    return "baseline" if kind == "none" else "sweep"


def run_name(kind: str, d: int | None, seed: int, key: str) -> str:
    return f"{kind}-d{d}-s{seed}-{key[:10]}" if kind != "none" else f"none-s{seed}-{key[:10]}"


def run_dir(results_dir: str | Path, family: str, task: str, kind: str, d: int | None, seed: int, key: str) -> Path:
    return Path(results_dir) / family / stage_of(kind) / task / run_name(kind, d, seed, key)


def parse_result(path: Path) -> dict:
    """The result in `path`, or DataError if it is unreadable or incomplete."""
    try:
        result = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path} is unreadable ({type(error).__name__})") from error
    if not isinstance(result, dict) or not all(key in result for key in REQUIRED):
        raise DataError(f"{path} is not a complete result (needs {', '.join(REQUIRED)})")
    return result


def load(directory: Path, key: str) -> dict | None:
    """The finished result of run `key` in `directory`; None if there is none yet or it is damaged."""
    path = directory / RESULT_FILE
    if not path.is_file():
        return None
    try:
        result = parse_result(path)
    except DataError as error:
        if path not in _damaged:  # a study and its job both look: one warning
            _damaged.add(path)
            log.warning("%s: training that run again", error)
        return None
    return result if result["key"] == key else None


def read(directory: Path, fix: str) -> dict:
    """The result of the run in `directory`, which must be there and complete; the error names `fix`."""
    try:
        return parse_result(directory / RESULT_FILE)
    except DataError as error:
        raise DataError(f"{error}; {fix}") from error


def ensure_writable(directory: Path, setting: str = "paths.results_dir") -> None:
    """Fail before any training if results (or logs) cannot be written there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise BadInput(
            f"cannot write to {directory} ({error.strerror or error}); set {setting} to a writable folder"
        ) from error


def save(directory: Path, result: dict, state: dict | None) -> None:
    """subspace.pt first, result.json last: a run is complete exactly when its result.json exists. A run that
    cannot be written (a full disk: torch reports it as a RuntimeError) leaves no file and fails in one line."""
    try:
        if state is not None:
            write_atomically(directory / STATE_FILE, lambda path: torch.save(state, path))
        write_json(directory / RESULT_FILE, result)
    except (OSError, RuntimeError) as error:
        raise BadInput(
            f"cannot store {directory.name} in {directory.parent} ({why_unwritable(directory, error)}); free space "
            "there or set paths.results_dir to another folder, then run the same command again"
        ) from error


def why_unwritable(directory: Path, error: Exception) -> str:
    if getattr(error, "errno", None) == errno.ENOSPC or shutil.disk_usage(directory).free < FULL_BELOW:
        return "no space left on the device"
    return str(error).splitlines()[0]
