"""Wall time of a study on this machine: the quick MNIST profile in-process and with two local processes.

    python benchmarks/study.py            # both launchers, about 10 minutes on 2 cores
    python benchmarks/study.py --quick    # the tiny test profile, to check that the script works

Each launcher starts from an empty result store (a temporary folder) and reads the prepared MNIST file
(`dvc repro prepare_mnist`); both run one after the other in one invocation, so their ratio compares like
with like. Writes results/study.json and results/study.md.
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
    "in-process (basic)": ["hydra/launcher=basic"],
    "2 local processes (joblib)": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
}


def run_study(launcher: list[str], profile: str, prepared: Path, store: Path) -> dict:
    where = [f"paths.results_dir={store / 'results'}", f"paths.log_dir={store / 'logs'}", f"profile={profile}",
             f"dataset.prepared={prepared}", "study.family=mnist", "logger=csv", *launcher]  # fmt: skip
    started = time.perf_counter()
    for stage in ("baseline", "sweep"):
        done = subprocess.run([sys.executable, "pipelines/study.py", *where, f"study.stage={stage}"],
                              cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"study.py failed: {done.stderr.strip().splitlines()[-1]}")
    wall = time.perf_counter() - started
    results = [json.loads(path.read_text()) for path in (store / "results").rglob("result.json")]
    return {
        "wall_seconds": round(wall, 1),
        "runs": len(results),
        "run_seconds": round(sum(result["provenance"]["seconds"] for result in results), 1),
        "threads_per_run": sorted({result["provenance"]["threads"] for result in results}),
    }


def markdown(results: dict) -> str:
    reference = next(iter(results["launchers"].values()))["wall_seconds"]
    lines = [
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores), profile {results['profile']}, "
        "MNIST family (baselines, grid and search) from an empty result store.",
        "",
        "| launcher | runs | torch threads per run | wall time (min) | sum of run times (min) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["launchers"].items():
        threads = ", ".join(map(str, row["threads_per_run"]))
        lines.append(
            f"| {name} | {row['runs']} | {threads} | {row['wall_seconds'] / 60:.1f} | {row['run_seconds'] / 60:.1f} "
            f"| {reference / row['wall_seconds']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny test profile: check that the script runs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--prepared", type=Path, default=ROOT / "artifacts" / "prepared" / "mnist.pt")
    args = parser.parse_args()
    if not args.prepared.is_file():
        sys.exit(f"{args.prepared} is missing; run `dvc repro prepare_mnist` first")
    profile = "test" if args.quick else "quick"
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
               "profile": profile, "launchers": {}}  # fmt: skip
    for name, launcher in LAUNCHERS.items():
        with tempfile.TemporaryDirectory() as store:
            results["launchers"][name] = run_study(launcher, profile, args.prepared.resolve(), Path(store))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "study.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out_dir / "study.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
