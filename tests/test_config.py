from pathlib import Path

import pytest
from omegaconf import OmegaConf

from intrinsic_dim.config import CONF_DIR, compose, plain
from intrinsic_dim.models import fully_connected, lenet


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


def combinations() -> list[list[str]]:
    """Every task x subspace kind, and every other group's options once each."""
    runs = [[f"task={task}", f"subspace={kind}"] for task in options("task") for kind in options("subspace")]
    return runs + [[f"{group}={option}"] for group in ("trainer", "logger", "profile") for option in options(group)]


@pytest.mark.parametrize("overrides", combinations(), ids=lambda overrides: ",".join(overrides))
def test_configs_compose_and_resolve(overrides):
    cfg = compose(
        [*overrides, "subspace.d=100"] if any("subspace=" in o and "none" not in o for o in overrides) else overrides
    )
    cfg.paths.output_dir = "out"
    resolved = plain(cfg)
    kind = resolved["subspace"]["kind"]
    assert resolved["task"]["optimizer"]["lr"] == resolved["profile"]["lr"]["full" if kind == "none" else "subspace"]


@pytest.mark.parametrize("experiment", options("experiment"))
def test_experiments_compose(experiment):
    cfg = compose([f"experiment={experiment}", "subspace.d=100"])
    assert cfg.sweep == experiment and cfg.subspace.kind == "fastfood" and cfg.profile.name == "paper"


@pytest.mark.parametrize(
    ("launcher", "target"),
    [("basic", "BasicLauncher"), ("submitit_local", "LocalLauncher"), ("submitit_slurm", "SlurmLauncher")],
)
def test_launchers_compose(launcher, target):
    assert compose([f"hydra/launcher={launcher}"]).hydra.launcher._target_.endswith(target)


def test_config_dimensions_match_the_models():
    assert compose(["task=mnist_fc"]).task.D == sum(p.numel() for p in fully_connected().parameters())
    assert compose(["task=mnist_lenet"]).task.D == sum(p.numel() for p in lenet().parameters())


def test_subspace_d_must_be_given():
    cfg = compose(["subspace=fastfood"])
    with pytest.raises(Exception, match="Missing mandatory value"):
        OmegaConf.to_container(cfg.subspace, resolve=True, throw_on_missing=True)


def test_paths_are_relative_to_the_checkout():
    cfg = compose()
    assert not Path(cfg.paths.root_dir).is_absolute()
    assert Path(cfg.dataset.mirror).parts[-3:] == ("shared", "data", "mnist")


def test_wandb_is_offline_unless_wandb_mode_says_otherwise(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert compose(["logger=wandb"]).logger.mode == "offline"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert compose(["logger=wandb"]).logger.mode == "online"
