"""The quick MNIST profile of `dvc repro`, run for real: d_int90 within 30% of Li et al. 2018 (750 and 290)."""

import json

import pytest

from helpers import MNIST_MIRROR, succeeds


@pytest.mark.slow
@pytest.mark.skipif(not MNIST_MIRROR.is_dir(), reason="no local MNIST mirror")
def test_quick_mnist_lands_within_30_percent_of_the_paper(tmp_path):
    prepared = tmp_path / "prepared"
    succeeds(
        [
            "python",
            "pipelines/prepare.py",
            "dataset=mnist",
            f"dataset.source.root={MNIST_MIRROR}",
            f"paths.prepared_dir={prepared}",
        ]
    )
    where = [
        f"paths.prepared_dir={prepared}",
        "profile=quick",
        "profile.seeds=[0]",
        "study.family=vision",
        "logger=csv",
    ]
    where += ["profile.tasks=[mnist_fc,mnist_lenet]", "task.budgets.quick.kinds=[fastfood]"]
    # the profile's own runs, fewer of them: the grid points around the answers, a coarser last bracket
    where += ["task.budgets.quick.grid=[300,1000]", "task.budgets.quick.precision=1.5"]
    where += [f"paths.{name}_dir={tmp_path / name}" for name in ("results", "log", "metrics", "reports")]
    succeeds(["python", "pipelines/study.py", *where, "hydra/launcher=joblib"])  # baseline, sweep: ~5 min on 2 cores
    succeeds(["python", "pipelines/report.py", *where])
    for task, paper in (("mnist_fc", 750), ("mnist_lenet", 290)):
        metrics = json.loads((tmp_path / "metrics" / "quick" / "vision" / f"{task}-fastfood.json").read_text())
        assert metrics["paper"] == paper
        assert abs(metrics["absolute"] - paper) <= 0.3 * paper, metrics
