"""The study engine on tasks with known answers: identity, reuse, manifests, failures, launchers."""

import json
import re

import pytest

from helpers import in_process_study, study_arguments, succeeds
from intrinsic_dim import run as engine
from intrinsic_dim.errors import BadInput
from intrinsic_dim.plots import plot_comparison
from intrinsic_dim.runs import identity, manifest
from intrinsic_dim.study.progress import Progress
from intrinsic_dim.study.report import comparisons, markdown, size_families, spread, summarize


@pytest.fixture
def trained(monkeypatch) -> list[tuple]:
    """(task, kind, d, seed) of every run actually trained, in order."""
    runs = []
    execute = engine.fit_one

    def counting(cfg, built, context):
        runs.append((cfg.task.name, cfg.subspace.kind, cfg.subspace.d, cfg.seed))
        return execute(cfg, built, context)

    monkeypatch.setattr(engine, "fit_one", counting)
    return runs


def toy_study(tmp_path, *overrides, fail=lambda overrides: False) -> dict:
    in_process_study(study_arguments(tmp_path, "toy", "baseline", *overrides))
    return in_process_study(study_arguments(tmp_path, "toy", "sweep", *overrides), fail=fail)


def toy_summary(tmp_path, study: dict) -> dict:
    return summarize(study, tmp_path / "results", "rerun")["toy"]["fastfood"]


def test_the_toy_search_finds_ten(tmp_path, trained):
    study = toy_study(tmp_path)
    estimate = toy_summary(tmp_path, study)["d_int"]["solved"]
    assert estimate["per_seed"][0]["bracket"] == [9, 10] and estimate["refined"]
    assert estimate["value"] == pytest.approx(10, rel=1e-6)
    assert len(trained) == len(set(trained))  # no run twice


def test_extending_a_study_retrains_nothing_already_done(tmp_path, trained):
    toy_study(tmp_path)
    first = set(trained)
    trained.clear()
    toy_study(tmp_path, "profile.seeds=[0,1]", "task.budgets.test.grid=[3,5,30]")  # a seed and a grid point more
    assert not first & set(trained)
    assert {seed for *_, seed in trained} == {0, 1} and (("toy", "fastfood", 5, 0) in trained)
    trained.clear()
    coarser = toy_study(tmp_path, "profile.seeds=[0,1]", "task.budgets.test.grid=[3,5,30]",
                        "task.budgets.test.precision=1.5")  # fmt: skip
    # seed 0 needs no new run; seed 1 starts again from the ends of seed 0's wider bracket, [8, 12]
    assert toy_summary(tmp_path, coarser)["d_int"]["solved"]["per_seed"][0]["bracket"] == [8, 12]
    assert set(trained) <= {("toy", "fastfood", 8, 1), ("toy", "fastfood", 12, 1)}


def test_later_seeds_search_only_the_thresholds_set_beside_a_paper_value(tmp_path):
    loose = ["profile.seeds=[0,1]", "+task.study.thresholds.loose={target:1.0e-2,label:loose}"]
    study = toy_study(tmp_path, *loose)
    chased = {name: threshold["seeds"] for name, threshold in study["tasks"]["toy"]["thresholds"].items()}
    assert chased == {"solved": [0, 1], "loose": [0]}  # the headline by both seeds, the other by the first
    assert toy_summary(tmp_path, study)["d_int"]["loose"]["seeds"] == 1
    compared = toy_study(tmp_path, *loose, "+task.study.paper.also=loose")  # the papers page shows it too
    assert compared["tasks"]["toy"]["thresholds"]["loose"]["seeds"] == [0, 1]
    assert toy_summary(tmp_path, compared)["d_int"]["loose"]["seeds"] == 2


def test_a_setting_that_matters_or_a_code_change_retrains(tmp_path, trained, monkeypatch):
    toy_study(tmp_path)
    count = len(trained)
    trained.clear()
    toy_study(tmp_path, "task=toy", "task.budgets.test.max_iterations=400")  # a setting of that task only
    assert len(trained) == count  # every run again
    trained.clear()
    fingerprint = identity.code_fingerprint
    monkeypatch.setattr(
        identity,
        "code_fingerprint",
        lambda roots, root=identity.PACKAGE_DIR, left_out=frozenset(): "x" + fingerprint(roots, left_out=left_out),
    )
    toy_study(tmp_path)
    assert len(trained) == count


def test_stale_runs_never_enter_d_int(tmp_path):
    toy_study(tmp_path, "profile.seeds=[0,1]")
    study = toy_study(tmp_path)  # seeds [0]: the seed-1 runs stay in the store, outside the manifest
    assert {entry["seed"] for entry in study["tasks"]["toy"]["runs"]} == {0}
    stale = tmp_path / "results" / "toy" / "sweep" / "toy" / "fastfood-d11-s0-0000000000"
    stale.mkdir()
    (stale / "result.json").write_text(json.dumps({"key": "0", "task": "toy", "kind": "fastfood", "d": 11,
                                                   "seed": 0, "D": 1000, "metrics": {"loss": 99.0}}))  # fmt: skip
    summary = toy_summary(tmp_path, study)
    assert summary["seeds"] == 1 and 11 not in summary["curves"][0]
    assert summary["d_int"]["solved"]["value"] == pytest.approx(10, rel=1e-6)


def test_failed_runs_are_listed_and_every_finished_run_is_kept(tmp_path, trained):
    in_process_study(study_arguments(tmp_path, "toy", "baseline"))
    sweep = study_arguments(tmp_path, "toy", "sweep")
    with pytest.raises(
        BadInput, match=r"1 of 2 runs failed.*\n  toy fastfood d=30 seed 0: RuntimeError: this run crashed"
    ):
        in_process_study(sweep, fail=lambda overrides: "subspace.d=30" in overrides)
    path = manifest.manifest_path(tmp_path / "results", "toy", "sweep", "test")
    assert not path.exists()  # no manifest of an incomplete study
    trained.clear()
    in_process_study(sweep)
    assert trained[0] == ("toy", "fastfood", 30, 0) and ("toy", "fastfood", 3, 0) not in trained


def test_progress_into_a_file_is_whole_lines_with_the_count_after_each_trained_run(capfd):
    progress = Progress("toy sweep")  # stderr is a file here, as in a cluster job's log
    progress.plan("toy sweep, round 1", to_train=2, expected_later=1)
    for text, trained in [("stored run", False), ("first run", True), ("second run", True)]:
        progress.line(text, trained)
    progress.close(finished=True)
    err = capfd.readouterr().err
    assert "\r" not in err
    counts = [re.fullmatch(r"toy sweep, round 1: (\d+)/(\d+) runs trained \[00:0\d elapsed, ~.* left\]", line)
              for line in err.splitlines()]  # fmt: skip
    shown = [match.groups() if match else line for match, line in zip(counts, err.splitlines(), strict=True)]
    assert shown == [("0", "3"), "stored run", "first run", ("1", "3"), "second run", ("2", "3"), ("2", "2")]


def test_an_interrupted_study_says_how_to_resume_and_keeps_its_finished_runs(tmp_path, trained, monkeypatch, capfd):
    in_process_study(study_arguments(tmp_path, "toy", "baseline"))
    sweep = study_arguments(tmp_path, "toy", "sweep")
    counting = engine.fit_one

    def interrupted_at_the_second_run(cfg, built, context):
        if len(trained) == 1:
            raise KeyboardInterrupt  # Ctrl-C while the second run trains
        return counting(cfg, built, context)

    monkeypatch.setattr(engine, "fit_one", interrupted_at_the_second_run)
    capfd.readouterr()
    with pytest.raises(SystemExit, match=r"^study toy sweep interrupted: .*; rerun the same command to resume$"):
        in_process_study(sweep)
    done, planned = re.search(r"(\d+)/(\d+) runs trained", capfd.readouterr().err.splitlines()[-1]).groups()
    assert int(done) < int(planned)  # the last bar shows the runs left, not a finished study
    finished = trained.copy()
    monkeypatch.setattr(engine, "fit_one", counting)
    trained.clear()
    in_process_study(sweep)
    assert len(finished) == 1 and finished[0] not in trained and trained


def test_the_sweep_needs_its_baseline(tmp_path):
    with pytest.raises(BadInput, match=r"not stored; run the baseline stage first \(`dvc repro study@toy`"):
        in_process_study(study_arguments(tmp_path, "toy", "sweep"))


@pytest.mark.slow
def test_shuffled_labels_threshold_comes_from_training_accuracy(tmp_path, prepared_subset):
    overrides = ["profile.tasks=[mnist_fc_shuffled_labels]", f"dataset.prepared={prepared_subset}"]
    baseline = in_process_study(study_arguments(tmp_path, "vision", "baseline", *overrides))
    study = in_process_study(study_arguments(tmp_path, "vision", "sweep", *overrides))
    facts = study["tasks"]["mnist_fc_shuffled_labels"]
    path = tmp_path / "results" / baseline["tasks"]["mnist_fc_shuffled_labels"]["runs"][0]["path"] / "result.json"
    train_accuracy = json.loads(path.read_text())["metrics"]["train/acc"]
    assert facts["metric"] == "train/acc" and list(facts["thresholds"]) == ["relative"]
    assert facts["thresholds"]["relative"]["target"] == pytest.approx(0.9 * train_accuracy)
    assert facts["baseline"]["value"] == pytest.approx(train_accuracy)


@pytest.mark.slow
def test_joblib_launcher_with_two_processes_gives_the_in_process_results(tmp_path, prepared_subset):
    common = ["profile.seeds=[0,1]", "profile.tasks=[mnist_fc]", f"dataset.prepared={prepared_subset}"]
    study = ["python", "pipelines/study.py"]
    parallel = study_arguments(tmp_path / "joblib", "vision", "baseline", *common)
    output = succeeds([*study, *parallel, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    serial = study_arguments(tmp_path / "basic", "vision", "baseline", *common, "threads=1")  # as each joblib job
    succeeds([*study, *serial])
    results = {}
    for launcher in ("joblib", "basic"):
        runs = manifest.read(manifest.manifest_path(tmp_path / launcher / "results", "vision", "baseline", "test"), "")
        results[launcher] = [
            json.loads((tmp_path / launcher / "results" / entry["path"] / "result.json").read_text())
            for entry in runs["tasks"]["mnist_fc"]["runs"]
        ]
    assert [r["metrics"] for r in results["joblib"]] == [r["metrics"] for r in results["basic"]]
    assert [r["key"] for r in results["joblib"]] == [r["key"] for r in results["basic"]]
    assert {r["identity"]["runtime"]["threads"] for r in results["joblib"]} == {1}
    lines = output.strip().splitlines()
    assert len([line for line in lines if "mnist_fc" in line]) == 2 and len(lines) < 15  # no per-run banners


def test_the_report_logs_one_wandb_summary_run_with_the_table_and_the_figure(tmp_path):
    toy_study(tmp_path)
    arguments = [*study_arguments(tmp_path, "toy", "sweep"), "logger=wandb"]
    succeeds(["python", "pipelines/report.py", *arguments])
    [run] = (tmp_path / "logs" / "toy" / "summary" / "wandb").glob("offline-run-*")
    [table] = (run / "files" / "media" / "table").glob("d_int90_*.table.json")
    rows = json.loads(table.read_text())["data"]
    assert [row[:2] for row in rows] == [["toy", "fastfood"]] and rows[0][5] == "10 (1 seed, bisection)"
    assert list((run / "files" / "media" / "images").glob("metric_vs_d_*.png"))


def test_variants_of_a_task_are_tasks_of_their_own_with_their_answers(tmp_path):
    """Toy problems of 5 and 20 groups as variants of one config: d_int90 is exactly the number of groups."""
    variants = '+task.budgets.test.variants={toy_5:["groups=5"],toy_20:["groups=20"]}'
    study = toy_study(tmp_path, variants, "task.budgets.test.grid=[2,40]", "+task.study.compare_with=toy_5")
    assert set(study["tasks"]) == {"toy_5", "toy_20"}
    assert {name: facts["D"] for name, facts in study["tasks"].items()} == {"toy_5": 500, "toy_20": 2000}
    assert {facts["group"] for facts in study["tasks"].values()} == {"toy"}
    summary = summarize(study, tmp_path / "results", "")
    for name, groups in (("toy_5", 5), ("toy_20", 20)):
        assert summary[name]["fastfood"]["d_int"]["solved"]["value"] == pytest.approx(groups, rel=1e-6)
    members = size_families(summary)["toy"]
    assert spread(members, "fastfood") == {"members": 2, "D_min": 500, "D_max": 2000, "D_spread": 4.0,
                                           "d_int90_min": 5.0, "d_int90_max": 20.0, "d_int90_spread": 4.0}  # fmt: skip
    assert "| toy | fastfood | 2 | 500 - 2,000 | 5 - 20 | 4.0x | 4.00x |" in markdown(summary)
    assert comparisons(summary) == [("toy_5", "toy_20")]  # not toy_5 against itself
    plot_comparison(summary, ("toy_5", "toy_20"), tmp_path / "toy_5-vs-toy_20.png")
    assert (tmp_path / "toy_5-vs-toy_20.png").stat().st_size > 10_000


def test_a_kinds_largest_d_caps_its_search(tmp_path, trained):
    """Dense capped below the answer (10): its search stops at the cap and reports no d_int90; Fastfood finds 10."""
    study = toy_study(tmp_path, "task.budgets.test.kinds=[fastfood,dense]", "+task.budgets.test.max_d={dense:6}")
    assert study["tasks"]["toy"]["max_d"] == {"fastfood": 1000, "dense": 6}
    assert max(d for task, kind, d, _ in trained if kind == "dense") == 6
    summary = summarize(study, tmp_path / "results", "")["toy"]
    assert summary["dense"]["d_int"]["solved"]["value"] is None
    assert summary["fastfood"]["d_int"]["solved"]["value"] == pytest.approx(10, rel=1e-6)


def test_a_threshold_without_a_target_still_draws_the_curve_and_says_why(tmp_path, trained):
    # a gain over a floor that the baseline does not beat: no target to search for, the grid still runs
    floor = {"target": "null", "of": "baseline", "fraction": 0.9, "above": 1.0}
    study = toy_study(tmp_path, "task.study.mode=max", *(f"++task.study.thresholds.solved.{key}={value}"
                                                         for key, value in floor.items()))  # fmt: skip
    assert sorted(d for *_, d, _ in trained if d is not None) == [3, 30]  # the grid only: nothing to bisect
    estimate = toy_summary(tmp_path, study)["d_int"]["solved"]
    assert estimate["value"] is None and estimate["undefined"].endswith("is not above 1")
