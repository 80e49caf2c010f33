"""Single runs: the supervised and toy jobs, result files, reuse, logging, devices and the CLI."""

import json
import os
import subprocess
import sys

import hydra
import psutil
import pytest
import torch
import wandb

from helpers import ROOT, command, fails_in_one_line
from intrinsic_dim import SubspaceModel, tracking
from intrinsic_dim import run as engine
from intrinsic_dim.config import compose
from intrinsic_dim.run import run
from intrinsic_dim.runs.store import RESULT_FILE, STATE_FILE
from intrinsic_dim.tasks.family import family_named

KINDS = ["none", "dense", "sparse", "fastfood", "said"]


def tiny_config(prepared, tmp_path, *overrides):
    cfg = compose([f"dataset.prepared={prepared}", f"paths.results_dir={tmp_path / 'results'}", "logger=csv",
                   "trainer.fast_dev_run=true", *overrides])  # fmt: skip
    cfg.paths.output_dir = str(tmp_path / "logs")
    return cfg


def stored(result: dict, tmp_path) -> list:
    return sorted((tmp_path / "results").rglob(RESULT_FILE))


@pytest.mark.parametrize("task", ["mnist_fc", "mnist_lenet"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_run_stores_its_result_and_subspace_state(prepared_subset, tmp_path, task, kind):
    d = ["subspace.d=40"] if kind != "none" else []
    cfg = tiny_config(prepared_subset, tmp_path, f"task={task}", f"subspace={kind}", "seed=3", *d)
    result = run(cfg)
    [path] = stored(result, tmp_path)
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
    assert path.parent.parent.parent.name == ("baseline" if kind == "none" else "sweep")
    assert (
        result["D"] == {"mnist_fc": 199_210, "mnist_lenet": 44_426}[task]
        and result["tensors"] == {"mnist_fc": 6, "mnist_lenet": 10}[task]
    )
    assert result["seed"] == 3 and result["identity"]["subspace"]["seed"] == 3
    assert {"train/loss", "val/acc", "test/acc"} == set(result["metrics"]) and 0 <= result["metrics"]["test/acc"] <= 1
    assert (path.parent / STATE_FILE).is_file() == (kind != "none")
    assert not list(path.parent.rglob("*wandb*")) and not list(path.parent.rglob("*.ckpt"))  # only small files


def test_stored_theta_d_rebuilds_the_trained_model(prepared_subset, tmp_path):
    cfg = tiny_config(prepared_subset, tmp_path, "subspace=said", "subspace.d=60", "trainer.fast_dev_run=false",
                      "trainer.max_steps=3", "trainer.limit_val_batches=0")  # fmt: skip
    result = run(cfg)
    state = torch.load(stored(result, tmp_path)[0].parent / STATE_FILE)
    assert state["theta_d"].shape == (60 - 6,) and state["theta_d"].abs().sum() > 0
    torch.manual_seed(cfg.seed)  # the init seed gives theta_0 back
    rebuilt = SubspaceModel(hydra.utils.instantiate(cfg.task.model), "said", 60, cfg.subspace.seed)
    rebuilt.load_state_dict(state)
    x = torch.load(prepared_subset)["test"][0][:8].float()
    with pytest.raises(Exception, match="checkpoint does not match"):
        SubspaceModel(hydra.utils.instantiate(cfg.task.model), "said", 60, 4).load_state_dict(state)
    assert rebuilt(x).shape == (8, 10)


def test_a_finished_run_is_read_not_trained_again(prepared_subset, tmp_path, monkeypatch):
    cfg = tiny_config(prepared_subset, tmp_path, "subspace=fastfood", "subspace.d=8")
    first = run(cfg)
    monkeypatch.setattr(engine, "train", lambda *args, **kwargs: pytest.fail("trained again"))
    assert run(cfg) == first
    assert run(tiny_config(prepared_subset, tmp_path, "subspace=fastfood", "subspace.d=8", "logger=wandb")) == first
    path = stored(first, tmp_path)[0]
    for damaged in (path.read_text()[:50], "[1, 2]"):  # a write cut short, something else entirely
        path.write_text(damaged)
        monkeypatch.setattr(engine, "train", lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("retrained")))
        with pytest.raises(RuntimeError, match="retrained"):
            run(cfg)


def three_steps_on_the_command_line(prepared, tmp_path, *overrides) -> subprocess.CompletedProcess:
    done = command([sys.executable, "-m", "intrinsic_dim.train", "subspace=fastfood", "subspace.d=8",
                    "trainer.max_steps=3", f"dataset.prepared={prepared}", f"paths.results_dir={tmp_path}",
                    f"paths.log_dir={tmp_path / 'logs'}", *overrides])  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_quiet_runs_write_their_output_to_their_log(prepared_subset, tmp_path):
    done = three_steps_on_the_command_line(prepared_subset, tmp_path, "quiet=true")
    assert done.stderr == "" and len(done.stdout.splitlines()) == 1  # the result's summary line, nothing else
    [log] = (tmp_path / "logs").rglob("output.log")
    assert "GPU available" in log.read_text() and "Epoch 0" in log.read_text()  # the banner and the progress bar


def test_every_quiet_run_of_a_process_gets_the_lines_of_libraries_that_log_to_stderr(prepared_subset, tmp_path):
    # Lightning adds its log handler when first imported, inside the first run: later runs must still get its lines
    script = (
        "import sys; from intrinsic_dim.config import compose; from intrinsic_dim.run import run\n"
        "for seed in (0, 1):\n"
        f"    cfg = compose(['dataset.prepared={prepared_subset}', 'paths.results_dir={tmp_path}',\n"
        "                   'logger=csv', 'quiet=true', 'trainer.max_steps=2', 'subspace=fastfood',\n"
        "                   'subspace.d=8', f'seed={seed}'])\n"
        f"    cfg.paths.output_dir = '{tmp_path / 'logs'}'\n"
        "    run(cfg)\n"
    )
    done = command([sys.executable, "-c", script])
    assert done.returncode == 0, done.stderr[-2000:]
    logs = [log.read_text() for log in sorted((tmp_path / "logs").rglob("output.log"))]
    assert len(logs) == 2
    for log in logs:
        assert "GPU available" in log and "Logging error" not in log


def test_wandb_logs_offline_and_finishes(prepared_subset, tmp_path):
    cfg = tiny_config(prepared_subset, tmp_path, "logger=wandb", "trainer.fast_dev_run=false", "trainer.max_steps=2")
    result = run(cfg)
    assert wandb.run is None  # finished: the next run starts its own
    assert list((tmp_path / "logs" / result["key"][:10] / "wandb").glob("offline-run-*"))


def test_wandb_online_without_network_falls_back_to_offline_within_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setattr(tracking, "_online_failed", False)
    logger = compose(["logger=wandb", "logger.mode=online", "logger.init_timeout=2"]).logger
    with tracking.wandb_run(logger, tmp_path, quiet=True, name="probe") as run_:
        assert run_ is not None and run_.settings.mode == "offline"
    assert tracking._online_failed  # the next runs go offline at once
    with tracking.wandb_run(logger, tmp_path, quiet=True, name="probe") as again:
        assert again.settings.mode == "offline"


def test_a_logger_that_cannot_start_never_costs_the_run(prepared_subset, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(tracking, "_init", broken)
    cfg = tiny_config(prepared_subset, tmp_path, "logger=wandb", "trainer.fast_dev_run=false", "trainer.max_steps=2")
    result = run(cfg)
    assert list((tmp_path / "logs" / result["key"][:10] / "csv").rglob("metrics.csv"))


def test_a_retried_run_replaces_the_logs_of_its_unfinished_attempt(tmp_path):
    cfg = compose(["task=toy", "subspace=fastfood", "subspace.d=10", "logger=wandb", f"paths.results_dir={tmp_path}"])
    cfg.paths.output_dir = str(tmp_path / "logs")
    orphan = tmp_path / "logs" / engine.Planned.of(cfg).key[:10] / "wandb" / "offline-run-of-a-killed-attempt"
    orphan.mkdir(parents=True)
    result = run(cfg)
    assert not orphan.exists() and len(list(orphan.parent.glob("offline-run-*"))) == 1
    assert result["metrics"]["loss"] < 1e-12


def test_the_toy_job_solves_at_ten_and_not_at_nine(tmp_path):
    def toy(d):
        cfg = compose(["task=toy", "subspace=fastfood", f"subspace.d={d}", "logger=csv",
                       f"paths.results_dir={tmp_path}"])  # fmt: skip
        cfg.paths.output_dir = str(tmp_path / "logs")
        return run(cfg)["metrics"]["loss"]

    assert toy(10) < 1e-12 < 1.0 < toy(9)


def refuse_pickling(self, protocol):
    raise AssertionError(f"{type(self).__name__} was pickled")


@pytest.mark.slow
def test_ddp_sim_takes_the_same_first_step_as_one_process(prepared_subset, tmp_path, monkeypatch):
    """One full-data batch of 512 on one process, or two disjoint batches of 256 whose gradients DDP averages:
    the same gradient, so the same Adam step. The ranks are forked: the model (theta_0 and P: GBs at paper
    scale) is never pickled to them through shared memory."""
    common = ["subspace=fastfood", "subspace.d=50", "trainer.fast_dev_run=false", "trainer.max_steps=1",
              "trainer.limit_val_batches=0", "trainer.limit_test_batches=0"]  # fmt: skip
    single = run(tiny_config(prepared_subset, tmp_path / "single", *common, "task.data.batch_size=512"))
    monkeypatch.setattr(SubspaceModel, "__reduce_ex__", refuse_pickling)
    ddp = run(tiny_config(prepared_subset, tmp_path / "ddp", *common, "trainer=ddp_sim", "task.data.batch_size=256"))
    single_theta, ddp_theta = (torch.load(stored(r, tmp_path / name)[0].parent / STATE_FILE)["theta_d"]
                               for r, name in ((single, "single"), (ddp, "ddp")))  # fmt: skip
    assert single_theta.abs().sum() > 0
    assert torch.allclose(single_theta, ddp_theta, atol=1e-6)


def buffer_after_a_ddp_forward(rank: int, kwargs: dict, port: int, out: str) -> None:
    """Rank 1 changes its copy of theta_0 after DDP is built; what it holds after one forward is saved."""
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2, init_method=f"tcp://127.0.0.1:{port}")
    torch.manual_seed(0)  # the same net on both ranks, as a run's seeded build gives
    model = SubspaceModel(torch.nn.Linear(6, 3), "fastfood", 4, seed=0)
    wrapped = torch.nn.parallel.DistributedDataParallel(model, **kwargs)
    if rank == 1:
        model.theta_0.add_(1.0)
    wrapped(torch.ones(2, 6)).sum().backward()
    torch.save(model.theta_0.clone(), f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.parametrize("preset", ["ddp", "ddp_sim"])
def test_ddp_presets_do_not_resend_the_subspace_buffers_each_forward(tmp_path, preset):
    """Broadcast before each forward would give rank 1 rank 0's theta_0 back: with the presets' DDP settings it
    keeps its own, so nothing of theta_0 or P crossed the wire (both ranks rebuild them from the seed)."""
    strategy = hydra.utils.instantiate(compose([f"trainer={preset}"], config_name="train").trainer.strategy)
    kwargs = strategy._ddp_kwargs
    port = 29500 + os.getpid() % 1000
    torch.multiprocessing.spawn(buffer_after_a_ddp_forward, args=(kwargs, port, str(tmp_path)), nprocs=2)
    rank0, rank1 = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert torch.allclose(rank1, rank0 + 1.0)


@pytest.mark.slow
def test_multirun_with_submitit_local(prepared_subset, tmp_path):
    command = [
        sys.executable, "-m", "intrinsic_dim.train", "-m", "hydra/launcher=submitit_local",
        "subspace=fastfood", "subspace.d=8,16", "trainer.fast_dev_run=true", "logger=csv",
        f"dataset.prepared={prepared_subset}", f"paths.results_dir={tmp_path}", f"paths.log_dir={tmp_path / 'logs'}",
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True, timeout=600)
    results = sorted((tmp_path / "vision" / "sweep" / "mnist_fc").glob(f"*/{RESULT_FILE}"))
    assert sorted(json.loads(path.read_text())["d"] for path in results) == [8, 16]
    assert sorted(path.parent.name[:14] for path in results) == ["fastfood-d16-s", "fastfood-d8-s0"]


def test_a_single_run_shows_lightning_progress_and_one_summary_line(prepared_subset, tmp_path):
    done = three_steps_on_the_command_line(prepared_subset, tmp_path, "logger=csv")
    assert "Epoch 0" in done.stdout  # Lightning's progress bar
    assert done.stdout.strip().splitlines()[-1].startswith("mnist_fc fastfood d=8 seed=0 (D=199,210): test/acc ")


def test_d_above_D_on_the_command_line_is_one_line(prepared_subset, tmp_path):
    line = fails_in_one_line([sys.executable, "-m", "intrinsic_dim.train", "subspace=fastfood", "subspace.d=10000000",
                              "logger=csv", f"paths.results_dir={tmp_path}", f"paths.log_dir={tmp_path}",
                              f"dataset.prepared={prepared_subset}"])  # fmt: skip
    assert line == (
        "train: d=10000000 exceeds the number of trainable parameters D=199210; "
        "choose d <= D (or subspace=none to train in the full space)"
    )


def test_wandb_dying_mid_run_ends_only_the_logging(prepared_subset, tmp_path, monkeypatch, caplog):
    """As when a cancelled cluster job's W&B service is killed first: the run trains on and is stored."""
    vision = family_named("vision")
    fit = vision.fit

    def fit_after_wandb_died(cfg, built, context):
        children = psutil.Process().children(recursive=True)
        services = [child for child in children if "wandb" in " ".join(child.cmdline())]
        assert services
        for service in services:
            service.kill()
        psutil.wait_procs(services, timeout=10)
        return fit(cfg, built, context)

    monkeypatch.setattr(vision, "fit", fit_after_wandb_died)
    cfg = tiny_config(prepared_subset, tmp_path, "logger=wandb", "trainer.fast_dev_run=false", "trainer.max_steps=2")
    result = run(cfg)
    assert result["metrics"]["val/acc"] > 0 and stored(result, tmp_path)
    assert "this run goes on without W&B" in caplog.text
