import math
from pathlib import Path

import hydra
import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf

from intrinsic_dim.config import CONF_DIR, compose
from intrinsic_dim.run import Planned
from intrinsic_dim.tasks.family import family_named


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


PROFILES = {name: OmegaConf.load(CONF_DIR / "profile" / f"{name}.yaml") for name in options("profile")}


@pytest.mark.parametrize("task", options("task"))
@pytest.mark.parametrize("kind", options("subspace"))
def test_every_task_and_kind_resolves_to_a_run_identity(task, kind):
    d = [f"subspace.d={100}"] if kind != "none" else []
    cfg = compose([f"task={task}", f"subspace={kind}", *d])
    planned = Planned.of(cfg)
    assert planned.settings["task"]["name"] == task and planned.settings["subspace"]["kind"] == kind
    assert len(planned.code) == 64 and planned.directory.parts[-3:-1] == ("sweep" if d else "baseline", task)
    assert cfg.task.study.metric in family_named(cfg.task.family).reports(cfg)  # what its study reads, it stores


@pytest.mark.parametrize("profile", PROFILES)
def test_every_task_of_a_profile_has_its_budget_and_study_settings(profile):
    for task in PROFILES[profile].tasks:
        cfg = compose([f"profile={profile}", f"task={task}"])
        budget = cfg.task.budget
        assert budget.kinds and budget.grid and budget.precision > 1, task
        study = cfg.task.study
        assert study.mode in ("max", "min") and study.headline in study.thresholds, task
        assert cfg.task.family in ("toy", "vision", "language", "rl"), task


@pytest.mark.parametrize("group", ["trainer", "logger", "profile"])
def test_every_option_composes(group):
    for option in options(group):
        OmegaConf.to_container(compose([f"{group}={option}"])[group], resolve=True)


@pytest.mark.parametrize(
    ("launcher", "target"),
    [("basic", "BasicLauncher"), ("joblib", "JoblibLauncher"), ("submitit_local", "LocalLauncher"),
     ("submitit_slurm", "SlurmLauncher")],
)  # fmt: skip
def test_launchers_compose(launcher, target):
    assert compose([f"hydra/launcher={launcher}"], config_name="study").hydra.launcher._target_.endswith(target)


def test_the_study_config_is_a_multirun_with_the_study_sweeper():
    cfg = compose(["study.family=vision"], config_name="study")
    assert cfg.hydra.mode == RunMode.MULTIRUN and cfg.hydra.sweeper._target_.endswith("StudySweeper")
    assert cfg.quiet and not cfg.trainer.enable_progress_bar


@pytest.mark.parametrize(("task", "D"), [("mnist_fc", 199_210), ("mnist_lenet", 44_426)])
def test_the_nets_have_the_paper_sizes(task, D):
    net = hydra.utils.instantiate(compose([f"task={task}"]).task.model)
    assert sum(p.numel() for p in net.parameters()) == D


def test_paths_are_relative_to_the_checkout():
    cfg = compose()
    assert not Path(cfg.paths.root_dir).is_absolute()
    assert Path(cfg.dataset.source.mirror).parts[-3:] == ("shared", "data", "mnist")


def test_wandb_is_offline_unless_wandb_mode_says_otherwise(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert compose(["logger=wandb"]).logger.mode == "offline"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert compose(["logger=wandb"]).logger.mode == "online"


def test_the_pipeline_variables_name_existing_options():
    variables = OmegaConf.load(CONF_DIR / "pipeline.yaml")
    assert variables.profile in options("profile") and variables.trainer in options("trainer")
    assert compose([f"hydra/launcher={variables.launcher}"], config_name="study").hydra.launcher


def test_a_budgets_reference_d_makes_the_subspace_rate_fall_as_one_over_sqrt_d():
    def rate(task, kind, d):
        return compose([f"task={task}", f"subspace={kind}", f"subspace.d={d}"]).subspace.lr

    assert rate("mrpc_minilm", "fastfood", 3000) == 3e-2 and rate("mrpc_minilm", "said", 3000) == 3e-3  # reused runs
    assert rate("mrpc_minilm", "fastfood", 30_000) == pytest.approx(3e-2 / math.sqrt(10), rel=1e-12)
    assert rate("mrpc_minilm", "said", 300) == pytest.approx(3e-3 * math.sqrt(10), rel=1e-12)
    assert rate("mnist_lenet", "fastfood", 300) == rate("mnist_lenet", "sparse", 30_000) == 3e-2  # no reference_d
