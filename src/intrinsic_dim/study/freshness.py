"""Whether the runs a study's manifest lists are the runs the current settings and code would make.

Stages that read another stage's runs (report, bounds) check before using them: after an edit to a task, its code
or its settings, a manifest still names the runs of before, until the study stage runs again.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from intrinsic_dim.config import compose
from intrinsic_dim.errors import BadInput
from intrinsic_dim.run import Planned
from intrinsic_dim.runs import store


def current_key(study: dict, task: str, entry: dict) -> str:
    """The key the run of `entry` (kind, d, seed of `task`) has under the current settings and code."""
    kind = entry["kind"]
    run = [f"subspace={kind}", *([f"subspace.d={entry['d']}"] if kind != "none" else []), f"seed={entry['seed']}"]
    return Planned.of(compose([*study["arguments"], *study["tasks"][task]["selection"], *run], "study")).key


def check_current(study: dict, entries: Iterable[tuple[str, dict]], results_dir: Path, command: str) -> None:
    """Stop, in one line naming `command`, at the first of (task, entry) whose stored run is not current."""
    if "arguments" not in study:
        raise BadInput(f"the {study['family']} manifest predates run freshness checks; run `{command}` again")
    for task, entry in entries:
        stored = store.read(results_dir / entry["path"], f"run `{command}` again")
        if stored["key"] != current_key(study, task, entry):
            where = f"{task} {entry['kind']}" + (f" d={entry['d']}" if entry["kind"] != "none" else "")
            raise BadInput(
                f"the {study['stage']} manifest of {study['family']} lists {where} seed {entry['seed']} made with "
                f"other settings or code than the current ones; run `{command}` first"
            )


def one_per_task_and_kind(study: dict) -> list[tuple[str, dict]]:
    """A run of every task and kind: a change of settings or code changes the keys of all of them."""
    first = {}
    for task, facts in study["tasks"].items():
        for entry in facts["runs"]:
            first.setdefault((task, entry["kind"]), entry)
    return [(task, entry) for (task, _), entry in first.items()]
