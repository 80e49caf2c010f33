import importlib.util
import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from helpers import ROOT, fails_in_one_line


def quick_benchmark(name: str, tmp_path, *flags: str) -> tuple[dict, str]:
    """`benchmarks/<name>.py --quick` writing into tmp_path: its results file, and what it printed."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick", *flags, "--out-dir", str(tmp_path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads((tmp_path / f"{name}.json").read_text()), done.stdout


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path):
    results, _ = quick_benchmark("core", tmp_path)
    assert [row["length"] for row in results["hadamard"]] == [256, 512, 1024]
    assert all(row["forward_backward_ms"] > 0 for row in results["hadamard"])
    kinds = {row["kind"]: row for row in results["steps"]}
    assert set(kinds) == {"direct", "dense", "sparse", "fastfood", "said"}
    for row in results["steps"]:
        assert row["D"] == 32 * 64 + 64 + 64 * 10 + 10
        assert row["model_mb"] >= 0 and row["peak_rss_mb"] > row["model_mb"]
        if row["kind"] != "direct":
            assert row["ratio_to_direct"] == pytest.approx(row["step_ms"] / row["direct_step_ms"])
    assert (tmp_path / "core.md").read_text().count("| tiny |") == 5
    vectorized = results["vectorized"]
    assert vectorized["runs"] == 2 and vectorized["speedup"] == pytest.approx(
        vectorized["separate_ms"] / vectorized["vectorized_ms"]
    )
    together = results["together"]
    assert together["runs"] == 2 and together["separate_s"] > 0 and together["together_s"] > 0
    assert together["speedup"] == pytest.approx(together["separate_s"] / together["together_s"])
    assert "2 whole runs of mnist_fc" in (tmp_path / "core.md").read_text()


@pytest.mark.slow
def test_quick_study_benchmark_times_both_launchers(tmp_path, prepared_subset, cifar_subset):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    for subset in (prepared_subset, cifar_subset):
        (prepared / subset.name).symlink_to(subset)
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "study.py"), "--quick", "--out-dir", str(tmp_path),
         "--prepared-dir", str(prepared), "--results-into", str(tmp_path / "kept"), "study.together=2",
         "profile.tasks=[mnist_fc]"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    results = json.loads((tmp_path / "study.json").read_text())
    basic, joblib = results["rows"]
    assert basic["launcher"] == "in-process (basic)" and joblib["launcher"] == "2 local processes (joblib)"
    assert basic["runs"] == joblib["runs"] > 2
    (threads_per_process,) = joblib["threads_per_run"]  # two processes split this test's cores
    assert threads_per_process == max(1, len(os.sched_getaffinity(0)) // 2) <= basic["threads_per_run"][0]
    assert all(row["wall_seconds"] > row["run_seconds"] / 2 > 0 for row in (basic, joblib))
    assert (tmp_path / "study.md").read_text().count("| 2 local processes (joblib) |") == 1
    assert "with study.together=2 profile.tasks=[mnist_fc]." in (tmp_path / "study.md").read_text()
    assert len(list((tmp_path / "kept" / "vision").rglob("result.json"))) == basic["runs"]  # the in-process runs


def test_study_table_gives_each_rows_wall_time_against_the_first_rows():
    spec = importlib.util.spec_from_file_location("study_benchmark", ROOT / "benchmarks" / "study.py")
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    row = {"launcher": "2 local processes (joblib)", "threads_per_run": [1]}
    results = {"date": "today", "cpu": "cpu", "cores": 2, "profile": "quick", "family": "vision"}
    rows = [{**row, "seeds": 1, "runs": 10, "run_seconds": 600.0, "wall_seconds": 400.0},
            {**row, "seeds": 3, "runs": 20, "run_seconds": 1000.0, "wall_seconds": 580.0}]  # fmt: skip
    table = study.markdown({**results, "rows": rows}).splitlines()
    assert table[-2] == "| 2 local processes (joblib) | 1 | 10 | 1 | 6.7 | 10.0 | 1.00 |"
    assert table[-1] == "| 2 local processes (joblib) | 3 | 20 | 1 | 9.7 | 16.7 | 1.45 |"


@pytest.mark.slow
def test_quick_ddp_benchmark_times_one_process_two_apart_and_both_ddp_settings(tmp_path):
    results, _ = quick_benchmark("ddp", tmp_path)
    assert results["preset_settings"] == {"forward_sync_buffers": False}  # what trainer=ddp hands to DDP
    (row,) = results["rows"]
    assert (row["kind"], row["d"]) == ("fastfood", 10)
    assert all(row[name] > 0 for name in ("one_process_ms", "apart_ms", "preset_ms", "defaults_ms"))
    table = (tmp_path / "ddp.md").read_text()
    assert f"| {row['preset_ms'] / row['apart_ms']:.2f}x |" in table and "| 32-64-10 | fastfood | 10 |" in table


@pytest.mark.parametrize(
    "flags",
    [pytest.param(["--torch-ops-on-cpu"], id="torch-ops-on-cpu"), pytest.param([], id="cuda", marks=pytest.mark.gpu)],
)
def test_the_gpu_benchmark_checks_the_gpu_path_of_every_kind_against_the_compiled_kernels(tmp_path, flags):
    """Forward, backward and SAID's scales of every kind, P drawn on the device, a vectorized group and Lightning
    runs (`trainer=gpu`, and `ddp` where there are two GPUs) against the CPU's compiled kernels."""
    results, printed = quick_benchmark("gpu", tmp_path, *flags)
    checks = {(row["kind"], row["check"]): row["relative_error"] for row in results["checks"]}
    assert {kind for kind, _ in checks} == {"dense", "sparse", "fastfood", "said"}
    assert ("said", "gradient of projection.scales") in checks and ("fastfood", "Lightning run (theta_d)") in checks
    assert all(error <= 1e-5 for error in checks.values()), checks
    assert 0 < checks[("fastfood", "P theta_d")]  # another implementation than the reference, not the same code
    assert f"{len(checks)}/{len(checks)} checks within 1e-05" in printed
    assert [row["kind"] for row in results["steps"]] == ["dense", "sparse", "fastfood", "said"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_the_gpu_benchmark_without_cuda_is_one_line_naming_the_fix():
    line = fails_in_one_line([sys.executable, str(ROOT / "benchmarks" / "gpu.py")])
    assert line == ("benchmarks/gpu.py: no CUDA device on this machine; run it where torch.cuda.is_available(), or "
                    "pass --torch-ops-on-cpu to check the GPU code path on the CPU")  # fmt: skip


def test_quick_language_benchmark_writes_ratios_and_memory(tmp_path):
    results, _ = quick_benchmark("language", tmp_path)
    rows = {(row["kind"], row["d"]): row for row in results["steps"]}
    assert set(rows) == {("full", None), ("fastfood", 200), ("said", 200)}
    D = rows[("full", None)]["D"]
    for kind in ("fastfood", "said"):
        row = rows[(kind, 200)]
        assert row["D"] == D and row["ratio_to_full"] == pytest.approx(row["step_ms"] / row["full_step_ms"])
        assert 0 < row["projection_constants_mb"] * 2**20 < 40 * D  # O(D) constants, never D x d
    assert set(results["targets"]) == {"said_over_full_step", "fastfood_over_full_step"}
    assert "| said | 200 |" in (tmp_path / "language.md").read_text()


def fake_dvc(tmp_path, monkeypatch, script: str) -> None:
    """A stand-in `dvc` on PATH that runs the shell `script`."""
    fake = tmp_path / "bin" / "dvc"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")


def test_the_pipeline_benchmark_times_each_stage_and_adds_up_interrupted_invocations(tmp_path, monkeypatch):
    """A stand-in `dvc` that runs two stages (0.3 s and 0.1 s) and fails the second time: both segments count."""
    fake_dvc(tmp_path, monkeypatch, "echo \"Running stage 'study@toy':\"\nsleep 0.3\n"
             "echo \"Running stage 'report@toy':\"\nsleep 0.1\n"
             "[ -f \"$MARK\" ] && exit 3\ntouch \"$MARK\"\n")  # fmt: skip
    monkeypatch.setenv("MARK", str(tmp_path / "ran"))
    script = [sys.executable, str(ROOT / "benchmarks" / "pipeline.py"), "--out-dir", str(tmp_path)]
    assert subprocess.run([*script, "--restart"], capture_output=True).returncode == 0
    assert subprocess.run(script, capture_output=True).returncode == 3
    results = json.loads((tmp_path / "pipeline.json").read_text())
    assert [segment["exit_code"] for segment in results["segments"]] == [0, 3]
    for segment in results["segments"]:
        assert list(segment["stages"]) == ["study@toy", "report@toy"]
        assert 0.3 <= segment["stages"]["study@toy"] < 1.3 and 0.1 <= segment["stages"]["report@toy"] < 1.1
    table = (tmp_path / "pipeline.md").read_text()
    assert "in 2 invocation(s) (not finished yet)" in table and "| study@toy |" in table and "| **total** |" in table


def test_interrupting_the_pipeline_benchmark_stops_the_stage_below_dvc_and_keeps_the_segment(tmp_path, monkeypatch):
    """A signal to the timer alone (not its terminal's whole group), even started as a background job that
    ignores SIGINT, still reaches the study, which says how to resume; the interrupted segment is recorded."""
    fake_dvc(tmp_path, monkeypatch, "trap 'echo \"study interrupted: rerun to resume\"; exit 130' INT\n"
             "echo \"Running stage 'study@toy':\"\nsleep 30 >/dev/null 2>&1 &\nwait\n")  # fmt: skip
    script = [sys.executable, str(ROOT / "benchmarks" / "pipeline.py"), "--out-dir", str(tmp_path), "--restart"]
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job starts it: SIGINT ignored
    try:
        timer = subprocess.Popen(script, stdout=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert timer.stdout.readline().startswith("Running stage 'study@toy'")
    timer.send_signal(signal.SIGINT)
    rest, _ = timer.communicate(timeout=60)  # the timer then composes the profile: seconds on a loaded machine
    assert "study interrupted: rerun to resume" in rest
    (segment,) = json.loads((tmp_path / "pipeline.json").read_text())["segments"]
    assert segment["exit_code"] == 130 and list(segment["stages"]) == ["study@toy"]


def test_the_paper_cost_prices_the_paper_grid_from_stored_seconds_per_epoch(tmp_path):
    """Two stored mnist_lenet runs of 5 epochs (20 s and 40 s: 6 s per epoch on average) price every Fastfood run
    of the paper grid at 100 epochs; tasks without stored runs get no hours."""
    from intrinsic_dim.config import compose

    for seconds, seed in ((20.0, 0), (40.0, 1)):
        folder = tmp_path / "results" / f"run{seed}"
        folder.mkdir(parents=True)
        identity = {"task": {"trainer": {"max_epochs": 5}, "data": {"limit": None}}}
        result = {"task": "mnist_lenet", "kind": "fastfood", "D": 44426, "identity": identity,
                  "provenance": {"seconds": seconds}}  # fmt: skip
        (folder / "result.json").write_text(json.dumps(result))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "paper_cost.py"), "--results-dir", str(tmp_path / "results"),
         "--out-dir", str(tmp_path)], check=True, capture_output=True, text=True,
    )  # fmt: skip
    results = json.loads((tmp_path / "paper_cost.json").read_text())
    rows = {row["task"]: row for row in results["tasks"]}
    paper = compose(["task=mnist_lenet", "profile=paper", "subspace=fastfood", "subspace.d=1000"])
    fastfood_runs = 3 * len(paper.task.budget.grid)
    assert rows["mnist_lenet"]["runs_by_kind"]["fastfood"] == fastfood_runs
    assert rows["mnist_lenet"]["run_hours"] == round(fastfood_runs * 6.0 * paper.task.trainer.max_epochs / 3600, 1)
    assert set(rows["mnist_lenet"]["unpriced_kinds"]) == set(rows["mnist_lenet"]["runs_by_kind"]) - {"fastfood"}
    assert rows["cifar10_resnet"]["run_hours"] is None and "not measured here" in done.stdout
    assert results["families"]["vision"] == rows["mnist_lenet"]["run_hours"]
