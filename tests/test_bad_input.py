"""Bad input at every entry point ends in one line that names the fix, exit code 1, and no lost result."""

import json
import os
import shutil
import sys

import pytest

from helpers import MNIST_MIRROR, command, fails_in_one_line, in_process_study, study_arguments, succeeds
from intrinsic_dim.config import CONF_DIR
from intrinsic_dim.runs import manifest

TRAIN = [sys.executable, "-m", "intrinsic_dim.train", "logger=csv"]


def test_a_seed_that_is_not_a_number(tmp_path):
    line = fails_in_one_line([*TRAIN, "seed=abc", f"paths.log_dir={tmp_path}"])
    assert line == "train: seed must be an integer, got 'abc'; pass seed=<integer>"


def test_a_subspace_without_d(tmp_path):
    line = fails_in_one_line([*TRAIN, "subspace=fastfood", f"paths.log_dir={tmp_path}"])
    assert line == "train: subspace.d is not set; pass it on the command line, e.g. subspace.d=<value>"


@pytest.mark.parametrize(("precision", "mixed"), [("bf16-true", "bf16-mixed"), ("16-true", "16-mixed")])
def test_a_half_precision_that_would_cast_the_subspace_is_refused(tmp_path, precision, mixed):
    line = fails_in_one_line([*TRAIN, "subspace=fastfood", "subspace.d=10", f"trainer.precision={precision}",
                              f"paths.results_dir={tmp_path}", f"paths.log_dir={tmp_path}"])  # fmt: skip
    assert line == (
        f"train: trainer.precision={precision} casts theta_0, P and theta_d to half precision, which breaks the "
        f"subspace; use trainer.precision={mixed} (the projection stays in float32)"
    )
    assert not list(tmp_path.rglob("output.log"))  # refused before the run started


def test_an_unwritable_results_folder_is_refused_before_training(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    line = fails_in_one_line([*TRAIN, "task=toy", "subspace=fastfood", "subspace.d=10",
                              f"paths.results_dir={blocked}/results", f"paths.log_dir={tmp_path}"])  # fmt: skip
    assert line.startswith(f"train: cannot write to {blocked}/results/toy/sweep/toy (")
    assert line.endswith("); set paths.results_dir to a writable folder")
    assert not list(tmp_path.rglob("output.log"))  # refused before the run started


@pytest.mark.parametrize("folder", ["results", "log"])
def test_a_study_refuses_unwritable_folders_before_any_run(tmp_path, folder):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    arguments = study_arguments(tmp_path, "toy", "baseline", f"paths.{folder}_dir={blocked}/{folder}")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    program = "study" if folder == "log" else "study toy baseline"  # the log folder: before Hydra's app starts
    assert line.startswith(f"{program}: cannot write to {blocked}/{folder} (")
    assert line.endswith(f"); set paths.{folder}_dir to a writable folder")


def test_an_unknown_task_in_a_study(tmp_path):
    arguments = study_arguments(tmp_path, "toy", "baseline", "profile.tasks=[toy,no_such_task]")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    tasks = ", ".join(sorted(path.stem for path in (CONF_DIR / "task").glob("*.yaml")))
    assert line == f"study toy baseline: task=no_such_task is not an option of task (conf/task/); one of: {tasks}"


@pytest.mark.parametrize(
    ("program", "overrides", "message"),
    [
        ("train", ["subspace.dd=10"], "train: subspace.dd is not a setting; did you mean subspace.d?"),
        ("train", ["trainer.max_epoch=1"], "train: trainer.max_epoch is not a setting; did you mean trainer.max_epochs "
                                           "or trainer.max_steps?"),
        ("train", ["subspace=nosuch"], "train: subspace=nosuch is not an option of subspace (conf/subspace/); one of: "
                                       "dense, fastfood, none, said, sparse"),
        ("train", ["task=mnist_fcc"], "train: task=mnist_fcc is not an option of task (conf/task/); did you mean "
                                      "mnist_fc or mnist_fc_size or mnist_lenet?"),
        ("study", ["study.family=toy", "study.togther=2"], "study: study.togther is not a setting; did you mean "
                                                           "study.together?"),
        ("study", ["study.family=toy", "seed=abc"], "study toy all: seed=abc: a study runs its profile's seeds and "
         "chooses each run's subspace; set profile.seeds=[...] or the task's budget (kinds, grid) instead"),
        ("study", ["study.family=nosuch"], "study nosuch all: study.family=nosuch is not a task family; one of "
                                           "language, rl, toy, vision"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 8 else None,
)  # fmt: skip
def test_a_misspelled_or_misplaced_setting_is_one_line_with_the_closest_ones(tmp_path, program, overrides, message):
    command = TRAIN if program == "train" else [sys.executable, "pipelines/study.py", "logger=csv"]
    assert fails_in_one_line([*command, *overrides, f"paths.log_dir={tmp_path}"]) == message


def test_an_unwritable_log_folder_is_one_line_before_hydra_makes_its_folder(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    line = fails_in_one_line([*TRAIN, "task=toy", f"paths.log_dir={blocked}/logs"])
    assert line == f"train: cannot write to {blocked}/logs (Not a directory); set paths.log_dir to a writable folder"


def test_a_report_with_an_unwritable_metrics_folder_is_one_line(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    line = fails_in_one_line(["python", "pipelines/report.py", *study_arguments(tmp_path, "toy", "sweep"),
                              f"paths.metrics_dir={blocked}"])  # fmt: skip
    assert line == (
        f"report: cannot write to {blocked}/test/toy (Not a directory); set paths.metrics_dir to a writable folder"
    )


def test_input_that_cannot_be_built_fails_before_any_logger_prints(tmp_path):
    done = command([*TRAIN[:-1], "logger=wandb", "subspace=fastfood", "subspace.d=64", f"paths.log_dir={tmp_path}",
                    f"paths.results_dir={tmp_path}", f"dataset.prepared={tmp_path / 'missing.pt'}"])  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (
        f"train: prepared data {tmp_path / 'missing.pt'} is missing; run `dvc repro prepare` "
        "(or python pipelines/prepare.py dataset=missing)"
    )


@pytest.fixture
def toy_study(tmp_path) -> tuple[list[str], dict]:
    in_process_study(study_arguments(tmp_path, "toy", "baseline"))
    study = in_process_study(study_arguments(tmp_path, "toy", "sweep"))
    return study_arguments(tmp_path, "toy", "sweep"), study


@pytest.mark.parametrize("damage", ["truncated", "not an object"])
def test_a_damaged_result_stops_the_report_with_the_fix(tmp_path, toy_study, damage):
    arguments, study = toy_study
    result = tmp_path / "results" / study["tasks"]["toy"]["runs"][0]["path"] / "result.json"
    result.write_text(result.read_text()[:40] if damage == "truncated" else json.dumps([1, 2]))
    line = fails_in_one_line(["python", "pipelines/report.py", *arguments])
    assert line.startswith(f"report: {result} is ")
    assert line.endswith("; run `dvc repro study@toy` again")


@pytest.mark.parametrize("damage", ["truncated", "not an object"])
def test_a_damaged_result_is_trained_again_by_the_sweep(tmp_path, toy_study, damage):
    arguments, study = toy_study
    result = tmp_path / "results" / study["tasks"]["toy"]["runs"][0]["path"] / "result.json"
    others = {path: path.read_text() for path in (tmp_path / "results").rglob("result.json") if path != result}
    result.write_text(result.read_text()[:40] if damage == "truncated" else json.dumps([1, 2]))
    output = succeeds(["python", "pipelines/study.py", *arguments])
    assert "training that run again" in output
    assert json.loads(result.read_text())["d"] == study["tasks"]["toy"]["runs"][0]["d"]
    assert all(path.read_text() == text for path, text in others.items())  # every other run kept as it was


def test_a_damaged_manifest_stops_the_report_with_the_fix(tmp_path, toy_study):
    arguments, _ = toy_study
    path = manifest.manifest_path(tmp_path / "results", "toy", "sweep", "test")
    path.write_text("{")
    line = fails_in_one_line(["python", "pipelines/report.py", *arguments])
    assert line == f"report: {path} is unreadable (JSONDecodeError); run `dvc repro study@toy` again"


def test_a_dataset_given_to_a_study_is_refused_before_any_run(tmp_path):
    """Its runs would be filed and reported under the names (and paper values) of the tasks of another dataset."""
    arguments = study_arguments(tmp_path, "vision", "baseline", "dataset=fashion_mnist")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    assert line.startswith("study vision baseline: dataset=fashion_mnist would file another dataset's runs under")
    assert line.endswith("write a task file that names its dataset (docs/adding-a-task.md) and list it in the profile")
    assert not (tmp_path / "results").exists()


def test_parallel_jobs_on_one_gpu_are_refused_before_any_run(tmp_path):
    arguments = study_arguments(tmp_path, "vision", "baseline", "trainer=gpu", "hydra/launcher=joblib",
                                "hydra.launcher.n_jobs=2", "threads=1")  # fmt: skip
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: joblib runs one job at a time")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    assert line == (
        "study vision baseline: task mnist_fc: 2 parallel jobs would share one GPU; set hydra/launcher=basic for one "
        "GPU (dvc: -S conf/pipeline.yaml:launcher=basic) or slurm for a GPU per job"
    )
    assert not list(tmp_path.rglob("result.json"))


def test_an_unknown_stage(tmp_path):
    line = fails_in_one_line(["python", "pipelines/study.py", *study_arguments(tmp_path, "toy", "survey")])
    assert line == "study toy survey: study.stage must be one of baseline, sweep, all, got 'survey'"


def test_a_group_size_that_is_not_a_positive_integer(tmp_path):
    line = fails_in_one_line(["python", "pipelines/study.py", *study_arguments(tmp_path, "toy", "baseline",
                                                                                  "study.together=0")])  # fmt: skip
    assert line == "study toy baseline: study.together must be a positive integer (1: one run at a time), got 0"


def test_an_unknown_way_to_search_later_seeds(tmp_path):
    arguments = study_arguments(tmp_path, "toy", "baseline", "study.later_seeds=all")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    assert line == "study toy baseline: study.later_seeds must be one of bracket, grid, got 'all'"


def test_fetch_refuses_a_truncated_mirror_copy_and_copies_nothing_broken(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(MNIST_MIRROR, mirror)
    labels = mirror / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:1000])
    line = fails_in_one_line(["python", "pipelines/fetch_data.py", "dataset=mnist", f"dataset.source.mirror={mirror}",
                              f"dataset.source.root={tmp_path / 'data'}"])  # fmt: skip
    assert line == (
        f"fetch_data: the mirror's {labels} does not match its sha256 in conf/dataset (ff7bcfd416de...): it is corrupt "
        "or truncated; replace it in the mirror (or set dataset.source.mirror to a good copy)"
    )
    assert not (tmp_path / "data" / "MNIST" / "raw" / labels.name).exists()
