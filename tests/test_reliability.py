"""The store keeps its promise (issue 32): a run key names one set of numbers, however and by whom it was trained."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from helpers import (
    ROOT,
    fails_in_one_line,
    in_process_study,
    job_in_process,
    mnist_overrides,
    repo_copy,
    study_arguments,
    succeeds,
)
from intrinsic_dim.errors import BadInput
from intrinsic_dim.runs import store

STUDY = [sys.executable, "pipelines/study.py"]


def sweep_results(results: Path, family: str = "vision") -> dict[str, Path]:
    """Every stored sweep run of a family in the store, by key: its folder."""
    found = {}
    for path in (results / family / "sweep").rglob("result.json"):
        found[json.loads(path.read_text())["key"]] = path.parent
    return found


def attempts(log_dir: Path) -> set[Path]:
    """The log folder of every training attempt of a study (of one run, or of a group trained together)."""
    return {path.parent for path in log_dir.rglob("output.log")}


def start(arguments: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen([*STUDY, *arguments], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output[-3000:]
    return output


@pytest.mark.slow
def test_every_way_of_training_a_run_gives_its_key_one_set_of_numbers(prepared_subset, tmp_path):
    """From scratch, extended by a seed, killed and resumed, two studies at once, under joblib: equal keys hold
    bitwise equal numbers (theta_d and every metric), and two studies on one store train each run once."""
    common = ["profile.tasks=[mnist_fc]", f"dataset.prepared={prepared_subset}", "threads=1"]
    seeds = "profile.seeds=[0,1]"
    in_process_study(study_arguments(tmp_path / "base", "vision", "baseline", seeds, *common))

    def sweep(name: str, *more: str) -> list[str]:  # a store that holds the baselines, and its sweep's arguments
        if not (tmp_path / name / "results").exists():
            shutil.copytree(tmp_path / "base" / "results", tmp_path / name / "results")
        return study_arguments(tmp_path / name, "vision", "sweep", *common, *more)

    in_process_study(sweep("scratch", seeds))  # the runs of a round trained together as one group
    in_process_study(sweep("extended", "profile.seeds=[0]"))
    in_process_study(sweep("extended", seeds))

    killed = start(sweep("killed", seeds, "study.together=1"))  # one run per job: kill it between two runs
    while not sweep_results(tmp_path / "killed" / "results") and killed.poll() is None:
        time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    in_process_study(sweep("killed", seeds))

    concurrent = [start([*sweep("concurrent", seeds), f"paths.log_dir={tmp_path / 'concurrent' / f'logs{index}'}"])
                  for index in (0, 1)]  # fmt: skip
    for process in concurrent:
        finished(process)
    succeeds([*STUDY, *sweep("joblib", seeds), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])

    stores = {name: sweep_results(tmp_path / name / "results")
              for name in ("scratch", "extended", "killed", "concurrent", "joblib")}  # fmt: skip
    keys = set(stores["scratch"])
    assert len(keys) >= 4 and all(set(found) == keys for found in stores.values())
    for key in keys:
        reference = stores["scratch"][key]
        metrics = json.loads((reference / "result.json").read_text())["metrics"]
        theta_d = torch.load(reference / "subspace.pt")["theta_d"]
        for found in stores.values():
            assert json.loads((found[key] / "result.json").read_text())["metrics"] == metrics
            assert torch.equal(torch.load(found[key] / "subspace.pt")["theta_d"], theta_d)
    # each attempt stored every run it trained: no run was trained by both studies
    provenance = [json.loads((folder / "result.json").read_text())["provenance"]
                  for folder in stores["concurrent"].values()]  # fmt: skip
    sizes = {Path(entry["log_dir"]): 1 + len(entry["trained_with"]) for entry in provenance}
    assert set(sizes) == attempts(tmp_path / "concurrent") and sum(sizes.values()) == len(keys)


def test_a_sweep_never_reads_a_baseline_of_other_settings(tmp_path):
    """A relative threshold is read only from the baseline of the current settings and code."""
    toy = ["profile.tasks=[toy]", "profile.seeds=[0]"]
    in_process_study(study_arguments(tmp_path, "toy", "baseline", *toy))
    changed = study_arguments(tmp_path, "toy", "sweep", *toy, "task.budgets.test.lr.full=0.5")  # the baseline's
    with pytest.raises(BadInput, match=r"the baseline of toy \(seed 0\) with the current settings and code is not "):
        in_process_study(changed)
    study = in_process_study(study_arguments(tmp_path, "toy", "sweep", *toy))
    assert study["tasks"]["toy"]["baseline"]["runs"]


def test_a_full_disk_fails_only_the_runs_it_could_not_store_in_one_line(prepared_subset, tmp_path, monkeypatch):
    """The second of three runs trained together cannot be written: it alone fails, and leaves no file."""
    saved = torch.save

    def save(state, path):
        if "-s1-" in str(Path(path).parent.name):  # as torch fails on a full disk, half way through the file
            Path(path).write_bytes(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")
        saved(state, path)

    monkeypatch.setattr(torch, "save", save)
    monkeypatch.setattr(store.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 0))
    overrides = mnist_overrides(prepared_subset, tmp_path / "results", 0, 64, "together=[{d:64,seed:1},{d:64,seed:2}]")
    with pytest.raises(BadInput, match=r"^cannot store fastfood-d64-s1-\w+ in .*/mnist_fc \(no space left on the "
                                       r"device\); free space there or set paths.results_dir"):  # fmt: skip
        job_in_process(overrides, tmp_path / "logs")
    folders = sorted((tmp_path / "results" / "vision" / "sweep" / "mnist_fc").iterdir())
    assert [sorted(file.name for file in folder.iterdir()) for folder in folders] == [
        ["result.json", "subspace.pt"],
        [],
        ["result.json", "subspace.pt"],
    ]
    stored = json.loads((folders[0] / "result.json").read_text())
    assert stored["provenance"]["packages"]["torch"] == stored["identity"]["runtime"]["versions"]["torch"]


@pytest.mark.slow
def test_killing_a_study_ends_its_worker_processes(prepared_subset, tmp_path):
    common = ["profile.tasks=[mnist_fc]", "profile.seeds=[0,1]", f"dataset.prepared={prepared_subset}"]
    study = start([*study_arguments(tmp_path, "vision", "baseline", *common), "hydra/launcher=joblib",
                   "hydra.launcher.n_jobs=2"])  # fmt: skip
    while not list((tmp_path / "logs").rglob("output.log")) and study.poll() is None:  # a worker is training
        time.sleep(0.2)
    # the workers, not joblib's resource trackers (idle processes that train nothing)
    workers = [process for process in psutil.Process(study.pid).children(recursive=True)
               if "resource_tracker" not in " ".join(process.cmdline())]  # fmt: skip
    assert workers
    os.kill(study.pid, signal.SIGKILL)
    study.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)  # 2.3 s measured: each worker polls the study every second
    assert not alive, [process.cmdline() for process in alive]


@pytest.mark.slow
def test_a_report_refuses_runs_made_before_an_edit_of_the_task(tmp_path, monkeypatch):
    """After an edit, the manifest names the runs of before until the study runs again: the report stops."""
    repo = repo_copy(tmp_path / "repo", monkeypatch)
    arguments = study_arguments(tmp_path, "toy", "all", "profile.tasks=[toy]", "profile.seeds=[0]")
    succeeds(["python", "pipelines/study.py", *arguments], repo)
    succeeds(["python", "pipelines/report.py", *arguments], repo)
    task = repo / "conf" / "task" / "toy.yaml"
    task.write_text(task.read_text().replace("lr: {full: 1.0, subspace: 1.0}", "lr: {full: 1.0, subspace: 0.5}"))
    line = fails_in_one_line(["python", "pipelines/report.py", *arguments], repo)
    assert line == (
        "report: the sweep manifest of toy lists toy fastfood d=3 seed 0 made with other settings or code than the "
        "current ones; run `dvc repro study@toy` first"
    )
    succeeds(["python", "pipelines/study.py", *arguments], repo)  # the runs of the new rate
    succeeds(["python", "pipelines/report.py", *arguments], repo)
