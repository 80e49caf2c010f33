"""Wall time of a task family's study on this machine: in-process and with two local processes, and with one
seed against several.

    python benchmarks/study.py                          # the quick vision chain, both launchers (~2 h here)
    python benchmarks/study.py --results-into results   # the same, keeping the in-process runs for `dvc repro`
    python benchmarks/study.py --quick                  # the tiny test profile, to check that the script works
    python benchmarks/study.py --launchers joblib       # one launcher only (the other's row is left out)
    python benchmarks/study.py --launchers joblib --seeds 1 3 --out-name study_mnist_seeds \
        'profile.tasks=[mnist_fc,mnist_lenet]'          # seeds 0 and 0-2; any study overrides, recorded

Each row (launcher, seeds) starts from an empty result store (a temporary folder, or for the in-process launcher
the folder given to --results-into, which must hold no runs of the family yet) and reads the prepared datasets
(`dvc repro prepare`); the rows run one after the other in one invocation, so their ratios compare like with
like. Writes results/<out-name>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from intrinsic_dim.machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
LAUNCHERS = {
    "basic": ("in-process (basic)", ["hydra/launcher=basic"]),
    "joblib": ("2 local processes (joblib)", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
}


def run_study(launcher: list[str], family: str, profile: str, prepared_dir: Path, results: Path, logs: Path,
              overrides: list[str]) -> dict:  # fmt: skip
    where = [f"paths.results_dir={results}", f"paths.log_dir={logs}", f"profile={profile}", f"study.family={family}",
             f"paths.prepared_dir={prepared_dir}", "logger=csv", *launcher, *overrides]  # fmt: skip
    started = time.perf_counter()
    for stage in ("baseline", "sweep"):
        done = subprocess.run([sys.executable, "pipelines/study.py", *where, f"study.stage={stage}"],
                              cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"study.py failed: {done.stderr.strip().splitlines()[-1]}")
    wall = time.perf_counter() - started
    results = [json.loads(path.read_text()) for path in (results / family).rglob("result.json")]
    return {
        "wall_seconds": round(wall, 1),
        "runs": len(results),
        "run_seconds": round(sum(result["provenance"]["seconds"] for result in results), 1),  # a group's shared
        "threads_per_run": sorted({result["identity"]["runtime"]["threads"] for result in results}),
    }


def markdown(results: dict) -> str:
    reference = results["rows"][0]["wall_seconds"]
    lines = [
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores), profile {results['profile']}, "
        f"{results['family']} family (baselines, grid and search) from an empty result store"
        + (f", with {' '.join(results['overrides'])}." if results.get("overrides") else "."),
        "",
        "| launcher | seeds | runs | torch threads per run | wall time (min) | sum of run times (min) "
        "| wall time / first row's |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        threads = ", ".join(map(str, row["threads_per_run"]))
        lines.append(
            f"| {row['launcher']} | {row['seeds']} | {row['runs']} | {threads} | {row['wall_seconds'] / 60:.1f} "
            f"| {row['run_seconds'] / 60:.1f} | {row['wall_seconds'] / reference:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny test profile: check that the script runs")
    parser.add_argument("--family", default="vision")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--prepared-dir", type=Path, default=ROOT / "artifacts" / "prepared")
    parser.add_argument("--results-into", type=Path, help="the in-process launcher's result store (default: temporary)")
    parser.add_argument("--launchers", nargs="+", choices=list(LAUNCHERS), default=list(LAUNCHERS), help="timed")
    parser.add_argument("--seeds", nargs="+", type=int, help="timed per launcher with seeds 0..n-1 (default: the "
                        "profile's)")  # fmt: skip
    parser.add_argument("--out-name", default="study", help="writes <out-dir>/<out-name>.json and .md")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the study (tasks, seeds, study.together)")
    args = parser.parse_args()
    if args.results_into is not None and any((args.results_into / args.family).rglob("result.json")):
        sys.exit(f"{args.results_into / args.family} already holds runs: the timing must start from no runs")
    profile = "test" if args.quick else "quick"
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
               "profile": profile, "family": args.family, "overrides": args.overrides, "rows": []}  # fmt: skip
    prepared_dir = args.prepared_dir.resolve()
    for key in args.launchers:
        name, launcher = LAUNCHERS[key]
        for seeds in args.seeds or [None]:
            with tempfile.TemporaryDirectory() as store:
                kept = args.results_into is not None and key == "basic"
                where = args.results_into.resolve() if kept else Path(store) / "results"
                chosen = [f"profile.seeds=[{','.join(map(str, range(seeds)))}]"] if seeds else []
                row = run_study(launcher, args.family, profile, prepared_dir, where, Path(store) / "logs",
                                [*args.overrides, *chosen])  # fmt: skip
                results["rows"].append({"launcher": name, "seeds": seeds or "profile's", **row})
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.out_name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out_dir / f"{args.out_name}.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
