"""What the paper profile would cost on this machine's CPU, task by task, from what was measured here.

    python benchmarks/paper_cost.py   # after a `dvc repro` (the default profile's runs are in the result store)

A run's time grows with its length: epochs (Lightning tasks), generations (ES), environment steps (DQN), iterations
(the toy problem), read from its resolved settings. A task's seconds per unit of length, by kind (the baseline
apart), are the mean over its stored runs; for MiniLM on MRPC, which the default profile does not run, they come
from the language benchmark's step times (results/language.json) times MRPC's training pairs. The paper profile's
runs are counted from its budgets: per seed, one baseline and every grid point of every kind (up to its max_d and
D). The bisection that follows adds rounds, and ES runs that stopped early were cheaper than their budget: the hours
(of run time, each run with the share of the cores it had here) are a lower bound, on this CPU. Tasks never run here
(hub models, the ResNet, Humanoid, Pong, shuffled labels) get no hours.
Writes results/paper_cost.json and results/paper_cost.md (or --out-dir).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

from core import RESULTS, write_results
from omegaconf import OmegaConf

from intrinsic_dim.config import compose
from intrinsic_dim.machine import cpu_name
from intrinsic_dim.runs.store import RESULT_FILE

ROOT = Path(__file__).resolve().parents[1]
MRPC_TRAIN_PAIRS = 3668  # GLUE MRPC's training split


def length(task: dict, kind: str) -> float:
    """What a run's time grows with, from its resolved task settings."""
    if "es" in task:
        return float(task["es"]["length"][kind])
    if "dqn" in task:
        return float(task["dqn"]["timesteps"])
    if "max_iterations" in task:  # the toy problem
        return float(task["max_iterations"])
    return float(task["trainer"]["max_epochs"])


def stored_runs(results_dir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in results_dir.rglob(RESULT_FILE)]


def measured_rates(runs: list[dict]) -> dict[tuple[str, str], float]:
    """(task, kind) -> mean wall seconds per unit of length over the stored runs ('none': the baseline)."""
    rates = defaultdict(list)
    for run in runs:
        task, seconds = run["identity"]["task"], run["provenance"].get("seconds")
        cut_short = (task.get("data") or {}).get("limit") or (task.get("trainer") or {}).get("limit_train_batches")
        if seconds and not cut_short:  # a test's tiny run says nothing of a real one's cost
            rates[run["task"], run["kind"]].append(seconds / length(task, run["kind"]))
    return {key: statistics.fmean(values) for key, values in rates.items()}


def minilm_rates(language: dict) -> dict[str, float]:
    """kind -> seconds per epoch of MiniLM on MRPC, from the language benchmark's step times (at any d)."""
    per_pair = 1e-3 / language["plan"]["batch"]
    rates = defaultdict(list)
    for row in language["steps"]:
        if row.get("step_ms"):
            rates[row["kind"]].append(row["step_ms"] * per_pair * MRPC_TRAIN_PAIRS)
            rates["none"].append(row["full_step_ms"] * per_pair * MRPC_TRAIN_PAIRS)
    return {kind: statistics.fmean(values) for kind, values in rates.items()}


def paper_runs(task: str, D: int | None, seeds: int) -> tuple[str, list[str], dict[str, tuple[int, float]]]:
    """The task's family, the tasks it studies (a size family: one per net) and, by kind, the runs of the paper
    profile's grid (all seeds and nets) and their length."""
    budget = compose([f"task={task}", "profile=paper"]).task.budget
    names = list(budget.get("variants") or [task])
    caps = budget.get("max_d") or {}
    runs = {}
    for kind in ("none", *budget.kinds):
        subspace = ["subspace=none"] if kind == "none" else [f"subspace={kind}", "subspace.d=1000"]
        resolved = compose([f"task={task}", "profile=paper", *subspace]).task
        count = seeds
        if kind != "none":
            count *= sum(1 for d in budget.grid if d <= caps.get(kind, math.inf) and (D is None or d <= D))
        runs[kind] = (count * len(names), length(OmegaConf.to_container(resolved, resolve=True), kind))
    return resolved.family, names, runs


def estimate(results_dir: Path) -> list[dict]:
    profile = compose(["profile=paper"]).profile
    runs = stored_runs(results_dir)
    rates = measured_rates(runs)
    minilm = minilm_rates(json.loads((RESULTS / "language.json").read_text()))
    for task in ("mrpc_minilm", "mrpc_minilm_random"):  # one network, pretrained or not
        rates.update({(task, kind): rate for kind, rate in minilm.items()})
    sizes = {run["task"]: run["D"] for run in runs}
    rows = []
    for task in profile.tasks:
        family, names, planned = paper_runs(task, sizes.get(task), len(profile.seeds))
        priced = {}
        for kind, (count, units) in planned.items():
            measured = [rates[name, kind] for name in names if (name, kind) in rates]
            if measured:  # a size family: the mean of the nets measured here stands for every net
                priced[kind] = statistics.fmean(measured) * count * units / 3600
        rows.append({
            "task": task, "family": family, "runs": sum(count for count, _ in planned.values()),
            "runs_by_kind": {kind: count for kind, (count, _) in planned.items()},
            "run_hours": round(sum(priced.values()), 1) if priced else None,
            "unpriced_kinds": [kind for kind in planned if kind not in priced],
        })  # fmt: skip
    return rows


def markdown(results: dict) -> str:
    lines = [f"Estimated {results['date']} on {results['cpu']} from the runs stored here: the paper profile's grid "
             "(seeds x (baseline + grid points)), in hours of run time as the runs took here (each with its share "
             "of the cores); a lower bound that leaves out the bisection rounds.", "",
             "| family | task | runs in the grid | run hours (lower bound) | kinds without a measurement |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in results["tasks"]:
        hours = "not measured here" if row["run_hours"] is None else f"{row['run_hours']:,.1f}"
        lines.append(f"| {row['family']} | {row['task']} | {row['runs']} | {hours} | "
                     f"{', '.join(row['unpriced_kinds']) or '-'} |")  # fmt: skip
    for family, hours in results["families"].items():
        lines.append(f"| **{family}** | all priced tasks | | **{hours:,.1f}** | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=ROOT / "results")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = estimate(args.results_dir)
    families = defaultdict(float)
    for row in rows:
        families[row["family"]] += row["run_hours"] or 0.0
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "tasks": rows,
               "families": {family: round(hours, 1) for family, hours in families.items()}}  # fmt: skip
    write_results(args.out_dir, "paper_cost", results, markdown(results))


if __name__ == "__main__":
    main()
