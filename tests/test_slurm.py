"""A study on a real one-node SLURM cluster (.ci/slurm-cluster start): a cancelled job costs only its own runs."""

import json
import os
import shutil
import subprocess
import time

import pytest
from test_reliability import start, sweep_results

from helpers import in_process_study, study_arguments, succeeds

CLUSTER = os.environ.get("INTRINSIC_DIM_SLURM") == "1"  # CI starts a cluster and sets it: the test must run there


def cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return done.returncode == 0 and any(state in done.stdout for state in ("idle", "mix"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CLUSTER and not cluster_up(), reason="no SLURM cluster (.ci/slurm-cluster start)"),
]


def squeue() -> dict[str, str]:
    """The queued and running jobs: name -> id."""
    lines = subprocess.run(["squeue", "-h", "-o", "%j %i"], capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in lines.splitlines())


def test_a_cancelled_job_fails_in_one_line_and_the_rerun_trains_only_its_run(tmp_path):
    assert cluster_up(), "INTRINSIC_DIM_SLURM=1 but the cluster is down: run .ci/slurm-cluster start"
    toy = ["profile.tasks=[toy]", "profile.seeds=[0]", "task.budgets.test.precision=10"]  # the grid alone: 2 runs
    in_process_study(study_arguments(tmp_path, "toy", "baseline", *toy, "threads=1"))
    sweep = [*study_arguments(tmp_path, "toy", "sweep", *toy), "hydra/launcher=slurm", "cluster.cpus_per_task=1"]
    study = start(sweep)
    deadline = time.monotonic() + 120
    while "toy/fastfood/d3/s0" not in (jobs := squeue()) and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run(["scancel", jobs["toy/fastfood/d3/s0"]], check=True)
    output, _ = study.communicate(timeout=600)
    assert study.returncode == 1 and "Traceback" not in output, output[-3000:]
    failure = [line for line in output.splitlines() if line.startswith("  toy fastfood d=3 seed 0: ")]
    assert len(failure) == 1 and f"SLURM job {jobs['toy/fastfood/d3/s0']} ended CANCELLED" in failure[0], output
    assert "1 of 2 runs failed" in output
    [survivor] = sweep_results(tmp_path / "results", "toy").values()  # the round's other job finished and stored
    stored = (survivor / "result.json").stat().st_mtime_ns
    succeeds(["python", "pipelines/study.py", *sweep])
    runs = sweep_results(tmp_path / "results", "toy")
    assert len(runs) == 2 and (survivor / "result.json").stat().st_mtime_ns == stored  # only the lost run trained
    assert sorted(json.loads((run / "result.json").read_text())["d"] for run in runs.values()) == [3, 30]
