"""The engine trains runs of one task together (issue 11): each stored as if alone, each resumable alone."""

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.loggers import Logger

from helpers import (
    group_job_crashing_above_one,
    in_process_study,
    job_in_process,
    mnist_overrides,
    study_arguments,
    succeeds,
)
from intrinsic_dim.config import compose
from intrinsic_dim.errors import BadInput
from intrinsic_dim.run import groupable
from intrinsic_dim.runs import manifest
from intrinsic_dim.study.coordinator import Pending, RunSpec, pack
from intrinsic_dim.tasks.family import family_named
from intrinsic_dim.tasks.vision.together import OwnMetrics


def test_runs_trained_together_are_stored_each_as_alone_and_only_unfinished_ones_train(prepared_subset, tmp_path):
    alone = {seed: job_in_process(mnist_overrides(prepared_subset, tmp_path / "alone", seed, 64), tmp_path / "logs")[0]
             for seed in (0, 1, 2)}  # fmt: skip
    results = tmp_path / "grouped"
    finished = job_in_process(mnist_overrides(prepared_subset, results, 2, 64), tmp_path / "logs")[0]
    group = mnist_overrides(prepared_subset, results, 0, 64, "together=[{d:64,seed:1},{d:64,seed:2}]")
    grouped = job_in_process(group, tmp_path / "logs")
    assert [result["seed"] for result in grouped] == [0, 1, 2]
    assert grouped[2] == finished  # read from the store: not trained again
    assert grouped[0]["provenance"]["trained_with"] == [grouped[1]["key"]]
    assert grouped[1]["provenance"]["trained_with"] == [grouped[0]["key"]]
    for result in grouped:  # the same run, whichever way it was trained: one key, one set of numbers
        assert result["key"] == alone[result["seed"]]["key"]
        assert result["metrics"] == alone[result["seed"]]["metrics"]
        stored, reference = (torch.load(where / "vision" / "sweep" / "mnist_fc" / run_folder(result) / "subspace.pt")
                             for where in (results, tmp_path / "alone"))  # fmt: skip
        assert reference["theta_d"].abs().sum() > 0
        assert torch.equal(stored["theta_d"], reference["theta_d"])
    assert job_in_process(group, tmp_path / "logs") == grouped  # all finished: nothing trains


def run_folder(result: dict) -> str:
    return f"{result['kind']}-d{result['d']}-s{result['seed']}-{result['key'][:10]}"


@pytest.mark.parametrize(
    ("together", "message"),
    [
        ("together=64", r"together is a list of \{d: <integer>, seed: <integer>\}"),
        ("together=[{d:64}]", r"together entries are \{d: <integer>, seed: <integer>\}"),
        ("together=[{d:'64',seed:1}]", r"together entries are \{d: <integer>, seed: <integer>\}"),
        ("together=[{d:64,seed:0}]", "together lists d=64 seed=0 twice .this run's own"),
        ("together=[{d:32,seed:1},{d:32,seed:1}]", "together lists d=32 seed=1 twice"),
    ],
)
def test_a_malformed_or_repeated_together_entry_is_refused_in_one_line(prepared_subset, tmp_path, together, message):
    with pytest.raises(BadInput, match=message):
        job_in_process(mnist_overrides(prepared_subset, tmp_path, 0, 64, together), tmp_path / "logs")


def test_a_group_that_fails_is_trained_one_by_one(prepared_subset, tmp_path, monkeypatch):
    """Whatever breaks the vectorized model (memory, a bug in the group trainer) costs time, not results."""
    vision = family_named("vision")
    monkeypatch.setattr(vision, "fit_group", group_job_crashing_above_one(vision.fit_group))
    group = job_in_process(mnist_overrides(prepared_subset, tmp_path, 0, 64, "together=[{d:64,seed:1}]"),
                           tmp_path / "logs")  # fmt: skip
    alone = job_in_process(mnist_overrides(prepared_subset, tmp_path / "alone", 1, 64), tmp_path / "logs")
    assert [result["seed"] for result in group] == [0, 1]
    assert all(result["provenance"]["trained_with"] == [] for result in group)
    assert group[1]["metrics"] == alone[0]["metrics"] and group[1]["key"] == alone[0]["key"]


def test_augmented_or_multi_device_runs_are_not_trained_together():
    assert not groupable(compose(["task=mnist_fc", "subspace=fastfood", "subspace.d=64", "task.data.augment=true"]))
    assert groupable(compose(["task=mnist_fc", "subspace=fastfood", "subspace.d=64"]))
    assert not groupable(compose(["task=mnist_fc", "subspace=fastfood", "subspace.d=64", "trainer=ddp_sim"]))
    assert not groupable(compose(["task=mnist_fc"]))  # full space
    assert not groupable(compose(["task=cifar10_resnet", "subspace=fastfood", "subspace.d=64"]))  # BatchNorm


def pending(task: str, kind: str, d: int | None, seed: int, groupable: bool = True) -> Pending:
    return Pending(RunSpec(task, kind, d, seed, (f"task={task}",)), "key", Path(), Path(), groupable)


def test_packing_groups_runs_of_one_task_and_kind_costliest_first_and_balances_parallel_jobs():
    runs = [pending("a", "fastfood", d, seed) for d in (300, 100) for seed in (0, 1, 2)]
    runs += [pending("a", "sparse", 100, 0), pending("b", "fastfood", 100, 0), pending("a", "none", None, 0, False)]
    alike = lambda spec: 1.0  # noqa: E731
    one_job = pack(runs, most=4, jobs=1, seconds=alike)
    assert [[(r.spec.task, r.spec.kind, r.spec.d, r.spec.seed) for r in group] for group in one_job] == [
        [("a", "fastfood", 100, 0), ("a", "fastfood", 100, 1), ("a", "fastfood", 100, 2), ("a", "fastfood", 300, 0)],
        [("a", "fastfood", 300, 1), ("a", "fastfood", 300, 2)],
        [("a", "none", None, 0)],
        [("a", "sparse", 100, 0)],
        [("b", "fastfood", 100, 0)],
    ]
    # two processes, 9 runs: no job above half a process's share (2.25 runs)
    assert [len(group) for group in pack(runs, most=4, jobs=2, seconds=alike)] == [2, 2, 2, 1, 1, 1]
    assert [len(group) for group in pack(runs, most=4, jobs=3, seconds=alike)] == [1] * 9  # share 1.5 runs
    last_round = [pending("a", "fastfood", 150, seed) for seed in (0, 1, 2)]  # one group would leave a core idle
    assert [len(group) for group in pack(last_round, most=4, jobs=2, seconds=alike)] == [1, 1, 1]
    two_tasks = [pending(task, "fastfood", d, 0) for task in ("fc", "lenet") for d in (300, 1000)]
    lenet_costs_three = lambda spec: 3.0 if spec.task == "lenet" else 1.0  # noqa: E731
    balanced = pack(two_tasks, most=4, jobs=2, seconds=lenet_costs_three)  # the costly runs first, the cheap fill in
    assert [[(r.spec.task, r.spec.d) for r in group] for group in balanced] == [
        [("lenet", 300)],
        [("lenet", 1000)],
        [("fc", 300)],
        [("fc", 1000)],
    ]
    in_process = pack(two_tasks, most=4, jobs=1, seconds=lenet_costs_three)
    assert [[r.spec.task for r in group] for group in in_process] == [["lenet", "lenet"], ["fc", "fc"]]
    assert all(len(group) == 1 for group in pack(runs, most=1, jobs=1, seconds=alike))  # study.together=1
    every = pack(runs, most=3, jobs=2, seconds=alike)
    assert sorted(id(r) for group in every for r in group) == sorted(id(r) for r in runs)


@pytest.mark.slow
def test_a_study_trains_its_seeds_together_through_joblib(prepared_subset, tmp_path):
    """Three seeds of MNIST FC: grouped jobs in two processes give each run's result, each reusable alone."""
    # one thread per run, as joblib's two processes give each: the same keys in process and under joblib; every seed
    # runs the grid of three d, so round 1 holds nine runs of like cost: four pairs (none above half a process's
    # share) and one alone
    common = ["profile.seeds=[0,1,2]", "study.later_seeds=grid", "profile.tasks=[mnist_fc]",
              "task.budgets.test.grid=[4,16,64]", f"dataset.prepared={prepared_subset}", "threads=1"]  # fmt: skip
    in_process_study(study_arguments(tmp_path, "vision", "baseline", *common))
    sweep = study_arguments(tmp_path, "vision", "sweep", *common)
    output = succeeds(["python", "pipelines/study.py", *sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    study = manifest.read(manifest.manifest_path(tmp_path / "results", "vision", "sweep", "test"), "")
    results = [json.loads((tmp_path / "results" / entry["path"] / "result.json").read_text())
               for entry in study["tasks"]["mnist_fc"]["runs"]]  # fmt: skip
    grid = [r for r in results if r["d"] in (4, 16, 64)]
    assert {(r["seed"], r["d"]) for r in grid} == {(seed, d) for seed in (0, 1, 2) for d in (4, 16, 64)}
    assert sorted(len(r["provenance"]["trained_with"]) for r in grid) == [0, 1, 1, 1, 1, 1, 1, 1, 1]
    assert {r["identity"]["runtime"]["threads"] for r in results} == {1}
    assert len([line for line in output.splitlines() if line.split()[:2] == ["mnist_fc", "fastfood"]]) == len(results)
    again = in_process_study(sweep)  # every run found in the store, one by one
    assert [entry["path"] for entry in again["tasks"]["mnist_fc"]["runs"]] == [
        entry["path"] for entry in study["tasks"]["mnist_fc"]["runs"]
    ]


class Recording(Logger):
    name, version = "recording", 0

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[tuple[dict, int | None]] = []

    def log_metrics(self, metrics, step=None) -> None:
        self.logged.append((metrics, step))

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass


def test_each_run_of_a_group_logs_only_its_own_metrics_under_its_own_names():
    inner = Recording()
    OwnMetrics(inner, run=1).log_metrics({"run0/train/loss": 1.0, "run1/train/loss": 2.0, "run12/val/acc": 0.5,
                                          "run1/val/acc": 0.7, "epoch": 3}, step=40)  # fmt: skip
    assert inner.logged == [({"train/loss": 2.0, "val/acc": 0.7, "epoch": 3}, 40)]


def test_a_group_opens_one_wandb_run_per_run(prepared_subset, tmp_path):
    group = mnist_overrides(prepared_subset, tmp_path / "results", 0, 64, "logger=wandb", "logger.mode=offline",
                            "together=[{d:64,seed:1}]")  # fmt: skip
    first, second = job_in_process(group, tmp_path / "logs")
    attempt = Path(first["provenance"]["log_dir"])
    assert second["provenance"]["log_dir"] == str(attempt)
    assert len(list((attempt / "wandb").glob("offline-run-*"))) == 2
