"""Shared by the tests: repository paths, commands, in-process studies, dense references of projections."""

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import hydra
import numpy as np
import scipy.linalg
import torch

from intrinsic_dim.config import compose
from intrinsic_dim.core.projections import Projection
from intrinsic_dim.core.projections.fastfood import FastfoodMaps, draw_fastfood_row
from intrinsic_dim.run import requested
from intrinsic_dim.study.coordinator import Study

ROOT = Path(__file__).parents[1]
MNIST_MIRROR = ROOT.parent / "shared" / "data" / "mnist"
CIFAR_MIRROR = ROOT.parent / "shared" / "data" / "cifar10"
MRPC_MIRROR = ROOT.parent / "shared" / "data" / "mrpc"


def command(args: Sequence[str], cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run a command with this test's Python first on PATH (DVC stages call `python`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def succeeds(args: Sequence[str], cwd: Path = ROOT) -> str:
    done = command(args, cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def repo_copy(destination: Path, monkeypatch, profile: str = "test") -> Path:
    """The checkout's files (tracked and untracked, not ignored; no results) in a new git repository at
    `destination`, its pipeline set to `profile`; the commands this test runs import the copy's code and configs."""
    files = succeeds(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).split("\n")
    for name in filter(None, files):
        if (ROOT / name).is_file() and not name.startswith(("results/", "metrics/", "reports/", "logs/")):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    variables = destination / "conf" / "pipeline.yaml"
    variables.write_text(variables.read_text().replace("profile: quick", f"profile: {profile}"))
    succeeds(["git", "init", "-q"], destination)
    monkeypatch.setenv("PYTHONPATH", str(destination / "src"))
    return destination


def fails_in_one_line(args: Sequence[str], cwd: Path = ROOT) -> str:
    """The last stderr line of a command that must exit 1 without a traceback."""
    done = command(args, cwd)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr.strip().splitlines()[-1]


def study_arguments(tmp_path: Path, family: str, stage: str, *overrides: str) -> list[str]:
    folders = [f"paths.{name}_dir={tmp_path / name}" for name in ("results", "metrics", "reports")]
    return [f"study.family={family}", f"study.stage={stage}", "profile=test", "logger=csv", *folders,
            f"paths.log_dir={tmp_path / 'logs'}", *overrides]  # fmt: skip


def mnist_overrides(prepared: Path, results: Path, seed: int, d: int, *more: str) -> list[str]:
    return ["task=mnist_fc", "profile=test", "logger=csv", f"dataset.prepared={prepared}",
            f"paths.results_dir={results}", "task.budgets.test.limit=256", "task.budgets.test.epochs=3",
            "subspace=fastfood", f"subspace.d={d}", f"seed={seed}", *more]  # fmt: skip


def job_in_process(overrides: Sequence[str], log_dir: Path) -> list[dict]:
    """One job of a study: its run, or with `together`, the runs trained together."""
    cfg = compose(overrides, config_name="study")
    cfg.paths.output_dir = str(log_dir / "_".join(o.replace("/", "_") for o in overrides[-4:]))
    return requested(cfg)


def run_in_process(overrides: Sequence[str], log_dir: Path) -> dict:
    (result,) = job_in_process(overrides, log_dir)
    return result


def in_process_study(arguments: Sequence[str], fail=lambda overrides: False) -> dict:
    """A study stage whose batches run one after another in this process (the basic launcher's behavior).

    `fail(overrides)` makes chosen runs fail, as a crashing job would.
    """
    cfg = compose(arguments, config_name="study")
    log_dir = Path(cfg.paths.log_dir)

    def launch(batch):
        outcomes = []
        for overrides in batch:
            try:
                if fail(overrides):
                    raise RuntimeError("this run crashed")
                outcomes.append((True, job_in_process(overrides, log_dir)))
            except Exception as error:
                outcomes.append((False, error))
        return outcomes

    return Study(cfg, arguments, lambda overrides: compose(overrides, config_name="study"), launch).run()


def group_job_crashing_above_one(fit_group):
    """A family's fit_group that fails as an out-of-memory error would, for more than one run."""

    def fit(cfgs, builts, contexts):
        if len(cfgs) > 1:
            raise RuntimeError("not enough memory to train these runs together")
        return fit_group(cfgs, builts, contexts)

    return fit


def materialize(projection: Projection) -> torch.Tensor:
    """P as a D x trainable_size matrix, one forward pass per basis vector."""
    dtype = torch.float64
    eye = torch.eye(projection.trainable_size, dtype=dtype)
    with torch.no_grad():
        return torch.stack([projection.to(dtype)(column) for column in eye], dim=1)


def explicit_fastfood(maps: FastfoodMaps, seed: int) -> np.ndarray:
    """The textbook S H G Pi H B of every row of FastfoodMaps, from dense matrices and the same random draws,
    stacked in row order."""
    in_size = maps.in_size
    blocks = {}
    for group, rows in zip(maps.length_groups, maps.groups, strict=True):
        length = group.length
        hadamard = scipy.linalg.hadamard(length).astype(np.float64)
        for slot, row in enumerate(rows):
            segments = group.segments
            out_size = sum(size for at, size in zip(segments.rows, segments.sizes, strict=True) if at == slot)
            signs, permutation, gains = (t.double().numpy() for t in draw_fastfood_row(in_size, length, seed, row))
            permutation_matrix = np.zeros((length, length))
            permutation_matrix[np.arange(length), permutation.astype(int)] = 1.0
            padded_signs = np.zeros((length, in_size))
            padded_signs[np.arange(in_size), np.arange(in_size)] = signs
            scale = 1.0 / np.sqrt(out_size * np.square(gains).sum())
            full = scale * hadamard @ np.diag(gains) @ permutation_matrix @ hadamard @ padded_signs
            blocks[row] = full[:out_size]
    return np.concatenate([blocks[row] for row in sorted(blocks)])


def mrpc_source(root: Path, **settings):
    """The MRPC dataset source of `conf/dataset/mrpc.yaml` reading `root`, with `settings` overridden."""
    overrides = ["dataset=mrpc", f"dataset.source.root={root}"]
    overrides += [f"dataset.source.{key}={value}" for key, value in settings.items()]
    return hydra.utils.instantiate(compose(overrides, config_name="data").dataset.source)
