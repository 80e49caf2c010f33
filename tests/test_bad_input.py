"""Bad input at every entry point ends in one line that names the fix, exit code 1, and no lost result."""

import json
import sys

import pytest

from helpers import fails_in_one_line, in_process_study, study_arguments, succeeds
from intrinsic_dim.config import CONF_DIR
from intrinsic_dim.runs import manifest

TRAIN = [sys.executable, "-m", "intrinsic_dim.train", "logger=csv"]


def test_a_seed_that_is_not_a_number(tmp_path):
    line = fails_in_one_line([*TRAIN, "seed=abc", f"paths.log_dir={tmp_path}"])
    assert line == "train: seed must be an integer, got 'abc'; pass seed=<integer>"


def test_a_subspace_without_d(tmp_path):
    line = fails_in_one_line([*TRAIN, "subspace=fastfood", f"paths.log_dir={tmp_path}"])
    assert line == "train: subspace.d is not set; pass it on the command line, e.g. subspace.d=<value>"


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
    assert line.startswith(f"study toy baseline: cannot write to {blocked}/{folder} (")
    assert line.endswith(f"); set paths.{folder}_dir to a writable folder")


def test_an_unknown_task_in_a_study(tmp_path):
    arguments = study_arguments(tmp_path, "toy", "baseline", "profile.tasks=[toy,no_such_task]")
    line = fails_in_one_line(["python", "pipelines/study.py", *arguments])
    assert line.startswith("study toy baseline: In 'train': Could not find 'task/no_such_task'")
    assert line.endswith(
        "Available options in 'task': " + " ".join(sorted(p.stem for p in (CONF_DIR / "task").glob("*.yaml")))
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


def test_an_unknown_stage(tmp_path):
    line = fails_in_one_line(["python", "pipelines/study.py", *study_arguments(tmp_path, "toy", "survey")])
    assert line == "study toy survey: study.stage must be one of baseline, sweep, all, got 'survey'"


def test_a_group_size_that_is_not_a_positive_integer(tmp_path):
    line = fails_in_one_line(["python", "pipelines/study.py", *study_arguments(tmp_path, "toy", "baseline",
                                                                                  "study.together=0")])  # fmt: skip
    assert line == "study toy baseline: study.together must be a positive integer (1: one run at a time), got 0"
