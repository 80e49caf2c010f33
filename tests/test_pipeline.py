import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
MIRROR = ROOT.parent / "shared" / "data" / "mnist"


def sh(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local MNIST mirror")
def test_dvc_pipeline_runs_in_a_copy_of_the_repo_and_then_is_up_to_date(tmp_path, monkeypatch):
    files = sh(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).split("\n")
    copy = tmp_path / "repo"
    for name in filter(None, files):
        if (ROOT / name).is_file() and not name.startswith(("results/", "metrics/", "figures/")):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    dvc_yaml = copy / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("quick", "test"))  # the tiny profile
    # DVC stages call `python`: the one running the tests, with this package, even without an activated venv
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("INTRINSIC_DIM_MNIST_MIRROR", str(MIRROR))
    monkeypatch.setenv("WANDB_MODE", "offline")
    sh(["git", "init", "-q"], copy)
    sh(["python", "pipelines/fetch_data.py"], copy)

    first = sh(["dvc", "repro", "figures"], copy)
    for stage in ("prepare", "baseline", "sweep", "intrinsic_dim", "figures"):
        assert f"Running stage '{stage}'" in first
    summary = json.loads((copy / "metrics" / "test" / "intrinsic_dim.json").read_text())["mnist_fc"]
    assert summary["D"] == 199_210 and summary["paper_d_int90"] == 750
    relative = summary["relative"]
    assert relative["target"] == pytest.approx(0.5 * summary["baseline_val_acc"])
    assert relative["reached"] and 1 <= relative["value"] <= 199_210
    assert (copy / "figures" / "test_accuracy_vs_d.png").stat().st_size > 10_000
    assert (copy / "metrics" / "test" / "curves" / "mnist_fc.csv").read_text().startswith("d,seed,val_acc")

    second = sh(["dvc", "repro", "figures"], copy)
    assert "Running stage" not in second
