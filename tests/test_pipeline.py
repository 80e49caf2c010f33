import json

import pytest

from helpers import MNIST_MIRROR, repo_copy, succeeds


@pytest.mark.slow
@pytest.mark.skipif(not MNIST_MIRROR.is_dir(), reason="no local MNIST mirror")
def test_dvc_pipeline_runs_in_a_copy_of_the_repo_and_then_is_up_to_date(tmp_path, monkeypatch):
    copy = repo_copy(tmp_path / "repo", monkeypatch)  # the tiny profile
    monkeypatch.setenv("INTRINSIC_DIM_MIRROR", str(MNIST_MIRROR.parent))
    succeeds(["python", "pipelines/fetch_data.py"], copy)

    first = succeeds(["dvc", "repro", "headline", "bounds@vision", "bounds@language"], copy)
    families = ("toy", "vision", "language", "rl")
    stages = ("prepare", *(f"{kind}@{family}" for kind in ("study", "report") for family in families))
    for stage in (*stages, "bounds@vision", "bounds@language", "headline"):
        assert f"Running stage '{stage}'" in first
    assert "Running stage 'benchmark_core'" not in first
    assert "wandb:" not in first and "GPU available" not in first  # per-run banners stay in the run logs
    toy = json.loads((copy / "metrics" / "test" / "toy" / "toy-fastfood.json").read_text())
    assert toy["D"] == 1000 and toy["solved"] == pytest.approx(10, rel=1e-6)
    metrics = copy / "metrics" / "test" / "vision"
    mnist = json.loads((metrics / "mnist_fc-fastfood.json").read_text())
    assert mnist["D"] == 199_210 and mnist["paper"] == 750 and 0 < mnist["baseline"] <= 1
    cifar = json.loads((metrics / "cifar10_lenet-fastfood.json").read_text())
    assert cifar["D"] == 62_006 and cifar["paper"] == 2900 and "relative" in cifar and "absolute" not in cifar
    reports = copy / "reports" / "test" / "vision"
    sizes = json.loads((reports / "size_families.json").read_text())["mnist_fc_size"]["fastfood"]  # two nets
    assert sizes["members"] == 2 and sizes["D_spread"] == pytest.approx(89_610 / 39_760, abs=0.01)
    assert (reports / "vision.png").stat().st_size > 10_000
    figures = {path.name for path in (reports / "figures").glob("*.png")}
    assert figures == {f"{task}.png" for task in ("mnist_fc", "cifar10_lenet", "mnist_fc_1x50", "mnist_fc_2x100",
                                                  "mnist_fc_size")}  # fmt: skip
    assert (reports / "curves" / "mnist_fc-fastfood.csv").read_text().startswith("d,seed,val_acc")
    summary = (reports / "summary.md").read_text()
    assert "| mnist_fc | fastfood | 199,210 |" in summary and "| mnist_fc_2x100 | fastfood | 89,610 |" in summary
    assert "| mnist_fc_size | fastfood | 2 | 39,760 - 89,610 |" in summary
    bound = json.loads((copy / "metrics" / "test" / "bounds" / "vision" / "mnist_fc.json").read_text())
    assert bound["d"] in (4, 64) and 0 < bound["bits"] < 32 * 199_210
    assert bound["train_err"] <= bound["bound"] <= 1 and 0 <= bound["held_out_err"] <= 1
    assert "| mnist_fc | fastfood |" in (copy / "reports" / "test" / "bounds" / "vision" / "bounds.md").read_text()
    assert (copy / "reports" / "test" / "bounds" / "vision" / "figures" / "mnist_fc.png").is_file()
    headline = (copy / "reports" / "test" / "headline.md").read_text().splitlines()
    assert headline[0] == "| task | family | kind | d_int90 | 95% interval | seeds | paper |"
    assert headline[2].startswith("| toy | toy | fastfood | 10 |") and "| mnist_fc | vision | fastfood |" in headline[3]
    assert any(line.startswith("| cartpole_es | rl | fastfood |") for line in headline)
    shown = succeeds(["dvc", "metrics", "show"], copy).splitlines()
    assert len(shown) == 8 and all(len(line) < 200 for line in shown)  # a header, a row per task and kind, a bound

    assert "Running stage" not in succeeds(["dvc", "repro", "headline", "bounds@vision", "bounds@language"], copy)

    problem = copy / "src" / "intrinsic_dim" / "tasks" / "toy" / "problem.py"
    problem.write_text(problem.read_text() + "# a comment changes no run\n")
    again = succeeds(["dvc", "repro", "headline"], copy)
    assert "Running stage 'study@toy'" in again and "stored" in again and " s\n" not in again  # nothing trained
    assert "Running stage 'study@vision'" not in again and "Running stage 'study@rl'" not in again  # not their code
