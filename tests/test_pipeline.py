import json
import shutil

import pytest

from helpers import MNIST_MIRROR, ROOT, succeeds


@pytest.mark.slow
@pytest.mark.skipif(not MNIST_MIRROR.is_dir(), reason="no local MNIST mirror")
def test_dvc_pipeline_runs_in_a_copy_of_the_repo_and_then_is_up_to_date(tmp_path, monkeypatch):
    files = succeeds(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).split("\n")
    copy = tmp_path / "repo"
    for name in filter(None, files):
        if (ROOT / name).is_file() and not name.startswith(("results/", "metrics/", "reports/", "logs/")):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    variables = copy / "conf" / "pipeline.yaml"
    variables.write_text(variables.read_text().replace("profile: quick", "profile: test"))  # the tiny profile
    monkeypatch.setenv("INTRINSIC_DIM_MIRROR", str(MNIST_MIRROR.parent))
    succeeds(["git", "init", "-q"], copy)
    succeeds(["python", "pipelines/fetch_data.py"], copy)

    first = succeeds(["dvc", "repro", "toy", "mnist"], copy)
    for stage in ("prepare_mnist", "toy_baseline", "toy_sweep", "toy", "mnist_baseline", "mnist_sweep", "mnist"):
        assert f"Running stage '{stage}'" in first
    assert "wandb:" not in first and "GPU available" not in first  # per-run banners stay in the run logs
    toy = json.loads((copy / "metrics" / "test" / "toy" / "toy-fastfood.json").read_text())
    assert toy["D"] == 1000 and toy["solved"] == pytest.approx(10, rel=1e-6)
    mnist = json.loads((copy / "metrics" / "test" / "mnist" / "mnist_fc-fastfood.json").read_text())
    assert mnist["D"] == 199_210 and mnist["paper"] == 750 and 0 < mnist["baseline"] <= 1
    reports = copy / "reports" / "test" / "mnist"
    assert (reports / "mnist.png").stat().st_size > 10_000
    assert (reports / "curves" / "mnist_fc-fastfood.csv").read_text().startswith("d,seed,val_acc")
    assert "| mnist_fc | fastfood | 199,210 |" in (reports / "summary.md").read_text()
    shown = succeeds(["dvc", "metrics", "show"], copy).splitlines()
    assert len(shown) == 3 and all(len(line) < 200 for line in shown)  # a header and one row per task and kind

    assert "Running stage" not in succeeds(["dvc", "repro", "toy", "mnist"], copy)

    plots = copy / "src" / "intrinsic_dim" / "plots.py"
    plots.write_text(plots.read_text() + "# a comment changes no run\n")
    again = succeeds(["dvc", "repro", "mnist"], copy)
    assert "Running stage 'mnist_sweep'" in again and "stored" in again and " s\n" not in again
