"""A study = baseline runs, then a grid refined by the adaptive search, for each task of a profile.

Every run lives in results/<profile>/<group>/<task>/<kind>/d<d>/s<seed>/ with its result.json. A run whose
result exists with the same resolved config is read, not trained again: interrupted or extended studies
resume, and finished results are never lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from intrinsic_dim.config import compose, plain
from intrinsic_dim.errors import BadInput
from intrinsic_dim.intrinsic import DEFINITIONS, Threshold, intrinsic_dimension
from intrinsic_dim.search import search_intrinsic_dimension
from intrinsic_dim.train import RESULT_FILE, train

log = logging.getLogger(__name__)
METRIC = "val/acc"  # the test set is never used to choose anything


def run_dir(results_dir: Path, profile: str, group: str, task: str, kind: str, d: int | None, seed: int) -> Path:
    return Path(results_dir) / profile / group / task / kind / f"d{d}" / f"s{seed}"


def same_run(stored: dict, wanted: dict) -> bool:
    """Configs that differ only in how they log describe the same run."""
    return {k: v for k, v in stored.items() if k != "logger"} == {k: v for k, v in wanted.items() if k != "logger"}


def run(profile: str, group: str, task: str, kind: str, d: int | None, seed: int, extra: Sequence[str] = ()) -> dict:
    """Train one run, or return its stored result if it was trained with the same config."""
    overrides = [f"profile={profile}", f"task={task}", f"subspace={kind}", f"seed={seed}", f"sweep={profile}"]
    if d is not None:
        overrides.append(f"subspace.d={d}")
    cfg = compose([*overrides, *extra])
    cfg.paths.output_dir = str(run_dir(cfg.paths.results_dir, profile, group, task, kind, d, seed))
    result_file = Path(cfg.paths.output_dir) / RESULT_FILE
    if result_file.is_file():
        try:
            stored = json.loads(result_file.read_text())
        except json.JSONDecodeError:
            log.warning("%s is corrupt (interrupted write?): training that run again", result_file)
        else:
            if same_run(stored.get("config", {}), plain(cfg)):
                return stored
            log.info("config changed since %s was written: training it again", result_file)
    return train(cfg)


def profile_config(profile: str, extra: Sequence[str] = ()) -> DictConfig:
    return compose([f"profile={profile}", *extra]).profile


def baselines(profile: str, extra: Sequence[str] = ()) -> list[dict]:
    settings = profile_config(profile, extra)
    return [
        run(profile, "baseline", task, "none", None, seed, extra) for task in settings.tasks for seed in settings.seeds
    ]


def sweep(profile: str, baseline_accuracy: dict[str, float], extra: Sequence[str] = ()) -> list[dict]:
    """The coarse grid for every task and seed, then bisection on log d inside the bracket it found."""
    settings = profile_config(profile, extra)
    threshold = Threshold(settings.threshold.definition, settings.threshold.fraction)
    results = []
    for task in settings.tasks:
        target = threshold.target(baseline_accuracy[task])
        for seed in settings.seeds:
            results += grid_then_search(profile, task, seed, target, settings, extra)
    return results


def grid_then_search(
    profile: str, task: str, seed: int, target: float, settings: DictConfig, extra: Sequence[str]
) -> list[dict]:
    runs = {d: run(profile, "sweep", task, settings.kind, d, seed, extra) for d in settings.grid}
    finished = {d: result["metrics"][METRIC] for d, result in runs.items()}

    def evaluate(d: int) -> float:
        runs[d] = run(profile, "sweep", task, settings.kind, d, seed, extra)
        return runs[d]["metrics"][METRIC]

    reached = sorted(d for d, value in finished.items() if value >= target)
    missed = [d for d, value in finished.items() if value < target and (not reached or d < reached[0])]
    low = max(missed, default=1)
    high = reached[0] if reached else max(settings.grid)
    D = next(iter(runs.values()))["D"]
    search_intrinsic_dimension(evaluate, target, low, max(high, low + 1), D, settings.search.precision, finished)
    return list(runs.values())


def collect(directory: Path) -> list[dict]:
    """Every result.json below a directory."""
    return [json.loads(path.read_text()) for path in sorted(Path(directory).rglob(RESULT_FILE))]


def profile_name(overrides: Sequence[str]) -> str:
    return compose(list(overrides)).profile.name


def baseline_accuracy(profile: str, extra: Sequence[str] = ()) -> dict[str, float]:
    """Mean validation accuracy of each task's full-space runs."""
    cfg = compose([f"profile={profile}", *extra])
    accuracies: dict[str, list[float]] = {}
    for result in collect(Path(cfg.paths.results_dir) / profile / "baseline"):
        accuracies.setdefault(result["task"], []).append(result["metrics"][METRIC])
    missing = sorted(set(cfg.profile.tasks) - set(accuracies))
    if missing:
        raise BadInput(
            f"no baseline results for {', '.join(missing)}; run the baseline stage first (dvc repro baseline)"
        )
    return {task: sum(values) / len(values) for task, values in accuracies.items()}


def sweep_curves(profile: str, extra: Sequence[str] = ()) -> dict[str, list[dict]]:
    """Each task's sweep runs as {d, seed, value} points."""
    cfg = compose([f"profile={profile}", *extra])
    curves: dict[str, list[dict]] = {task: [] for task in cfg.profile.tasks}
    for result in collect(Path(cfg.paths.results_dir) / profile / "sweep"):
        if result["task"] in curves and result["kind"] == cfg.profile.kind:
            curves[result["task"]].append(
                {"d": result["d"], "seed": result["seed"], "value": result["metrics"][METRIC]}
            )
    return curves


def summarize(extra: Sequence[str] = ()) -> dict:
    """d_int of every task of the profile by both thresholds, with the facts needed to read it."""
    cfg = compose(list(extra))
    profile = cfg.profile.name
    baseline = baseline_accuracy(profile, extra)
    fraction = cfg.profile.threshold.fraction
    tasks = {}
    for task, points in sweep_curves(profile, extra).items():
        task_cfg = compose([f"task={task}", *extra]).task
        tasks[task] = {
            "kind": cfg.profile.kind,
            "D": task_cfg.D,
            "baseline_val_acc": baseline[task],
            "paper_d_int90": task_cfg.paper_d_int90,
            "chosen_definition": cfg.profile.threshold.definition,
            **{
                definition: intrinsic_dimension(points, baseline[task], Threshold(definition, fraction))
                for definition in DEFINITIONS
            },
        }
    return {"metrics_file": str(Path(cfg.paths.metrics_dir) / profile / "intrinsic_dim.json"), "tasks": tasks}
