import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import wandb

from intrinsic_dim import mnist, study
from intrinsic_dim.config import compose
from intrinsic_dim.train import CHECKPOINT_FILE, RESULT_FILE, train

ROOT = Path(__file__).parents[1]
MIRROR = ROOT.parent / "shared" / "data" / "mnist"
KINDS = ["none", "dense", "sparse", "fastfood", "said"]


@pytest.fixture(scope="session")
def prepared_subset(tmp_path_factory) -> Path:
    """The first 512 real MNIST examples of each split, prepared as the pipeline prepares them."""
    if not mnist.raw_dir(MIRROR).is_dir():
        pytest.skip("no local MNIST mirror")
    splits = mnist.prepare(mnist.raw_dir(MIRROR), {}, validation_size=512, seed=0)
    path = tmp_path_factory.mktemp("prepared") / "mnist.pt"
    torch.save({name: (images[:512], labels[:512]) for name, (images, labels) in splits.items()}, path)
    return path


def tiny_config(prepared: Path, output_dir: Path, *overrides: str):
    cfg = compose([f"dataset.prepared={prepared}", "logger=csv", "trainer.fast_dev_run=true", *overrides])
    cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.mark.parametrize("task", ["mnist_fc", "mnist_lenet"])
@pytest.mark.parametrize("kind", KINDS)
def test_fast_dev_run_writes_result_next_to_checkpoint(prepared_subset, tmp_path, task, kind):
    d = ["subspace.d=40"] if kind != "none" else []
    cfg = tiny_config(prepared_subset, tmp_path, f"task={task}", f"subspace={kind}", "seed=3", *d)
    result = train(cfg)
    stored = json.loads((tmp_path / RESULT_FILE).read_text())
    assert stored == json.loads(json.dumps(result))
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    assert stored["D"] == cfg.task.D and stored["kind"] == kind and stored["d"] == (40 if kind != "none" else None)
    assert stored["seed"] == 3 and stored["projection_seed"] == 3 and stored["config"]["subspace"]["seed"] == 3
    assert {"train/loss", "val/acc", "test/acc"} <= set(stored["metrics"])
    assert 0 <= stored["metrics"]["test/acc"] <= 1


def test_wandb_logs_offline_and_finishes(prepared_subset, tmp_path):
    cfg = tiny_config(prepared_subset, tmp_path, "logger=wandb", "trainer.fast_dev_run=false", "profile.epochs=1")
    train(cfg)
    assert wandb.run is None  # finished: the next job of a multirun starts its own run
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_a_failing_logger_never_kills_training(prepared_subset, tmp_path):
    cfg = tiny_config(
        prepared_subset,
        tmp_path,
        "logger=wandb",
        "+logger.no_such_wandb_option=1",
        "trainer.fast_dev_run=false",
        "profile.epochs=1",
    )
    with pytest.warns(UserWarning, match="logging to CSV instead"):
        train(cfg)
    assert (tmp_path / RESULT_FILE).is_file() and (tmp_path / "csv").is_dir()


@pytest.mark.slow
def test_ddp_sim_takes_the_same_first_step_as_one_process(prepared_subset, tmp_path):
    """One full-data batch of 512 on one process, or two disjoint batches of 256 whose gradients DDP averages:
    the same gradient, so the same Adam step."""
    common = ["subspace=fastfood", "subspace.d=50", "trainer.max_steps=1", "trainer.limit_val_batches=0",
              "trainer.limit_test_batches=0"]  # fmt: skip
    train(tiny_config(prepared_subset, tmp_path / "single", *common, "task.data.batch_size=512"))
    train(tiny_config(prepared_subset, tmp_path / "ddp", *common, "trainer=ddp_sim", "task.data.batch_size=256"))
    single, ddp = (
        torch.load(tmp_path / run / CHECKPOINT_FILE)["state_dict"]["net.theta_d"] for run in ("single", "ddp")
    )
    assert single.abs().sum() > 0
    assert torch.allclose(single, ddp, atol=1e-6)


@pytest.mark.slow
def test_multirun_with_submitit_local(prepared_subset, tmp_path):
    command = [
        sys.executable, "-m", "intrinsic_dim.train", "-m", "hydra/launcher=submitit_local",
        "subspace=fastfood", "subspace.d=8,16", "trainer.fast_dev_run=true", "logger=csv",
        f"dataset.prepared={prepared_subset}", f"paths.results_dir={tmp_path}", "sweep=multirun_test",
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True, timeout=600)
    results = sorted((tmp_path / "multirun_test").rglob(RESULT_FILE))
    assert [json.loads(path.read_text())["d"] for path in results] == [16, 8]
    assert [path.parent.relative_to(tmp_path).as_posix() for path in results] == [
        "multirun_test/mnist_fc/fastfood/d16/s0",
        "multirun_test/mnist_fc/fastfood/d8/s0",
    ]


def test_study_reuses_finished_runs_and_retrains_corrupt_ones(prepared_subset, tmp_path, monkeypatch):
    overrides = [f"dataset.prepared={prepared_subset}", f"paths.results_dir={tmp_path}", "logger=csv"]
    overrides += ["profile=test", "trainer.fast_dev_run=true"]
    first = study.run("test", "sweep", "mnist_fc", "fastfood", 8, 0, overrides)
    trained = []
    monkeypatch.setattr(study, "train", lambda cfg: trained.append(cfg) or {"retrained": True})
    assert study.run("test", "sweep", "mnist_fc", "fastfood", 8, 0, overrides) == first  # reused, not trained
    assert study.run("test", "sweep", "mnist_fc", "fastfood", 8, 0, [*overrides, "logger=wandb"]) == first
    result_file = study.run_dir(tmp_path, "test", "sweep", "mnist_fc", "fastfood", 8, 0) / RESULT_FILE
    result_file.write_text(result_file.read_text()[:50])  # a write cut short
    assert study.run("test", "sweep", "mnist_fc", "fastfood", 8, 0, overrides) == {"retrained": True}
    assert study.run("test", "sweep", "mnist_fc", "fastfood", 8, 0, [*overrides, "profile.epochs=2"]) == {
        "retrained": True
    }  # another config is another run
    assert len(trained) == 2


def test_bad_input_on_the_command_line_is_one_line(tmp_path):
    command = [sys.executable, "-m", "intrinsic_dim.train", "subspace=fastfood", "subspace.d=10000000"]
    command += ["logger=csv", f"paths.results_dir={tmp_path}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "train: d=10000000 exceeds the number of trainable parameters D=199210; "
        "choose d <= D (or subspace=none to train in the full space)"
    )
