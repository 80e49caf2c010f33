"""A study stage's manifest: the runs it used, by task. Reports read only these runs, never the whole store.

results/<family>/<stage>/manifest-<profile>.json; paths inside are relative to the results folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from intrinsic_dim.errors import DataError
from intrinsic_dim.runs.atomic import write_json


def manifest_path(results_dir: str | Path, family: str, stage: str, profile: str) -> Path:
    return Path(results_dir) / family / stage / f"manifest-{profile}.json"


def write(path: Path, manifest: dict) -> None:
    write_json(path, manifest)


def read(path: Path, stage_command: str) -> dict:
    """The manifest at `path`; if it is missing or damaged, the error names the stage that writes it."""
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; run `{stage_command}` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path} is unreadable ({type(error).__name__}); run `{stage_command}` again") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tasks"), dict):
        raise DataError(f"{path} is not a study manifest; run `{stage_command}` again")
    return manifest
