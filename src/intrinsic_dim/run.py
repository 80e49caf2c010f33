"""One run of a task, the engine's unit of work: reuse its stored result, or train it and store the result.

Every entry point comes here: a single CLI run, each job of a Hydra multirun, each run a study launches.
Training goes through the task's family (intrinsic_dim.tasks.family): build, fit (or fit_group for several
runs at once), evaluate.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import logging
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from torch import nn

from intrinsic_dim import tracking
from intrinsic_dim.core.kernels import compiled_kernels_available
from intrinsic_dim.core.subspace import SubspaceModel, trainable_tensors
from intrinsic_dim.errors import BadInput
from intrinsic_dim.machine import cpu_name
from intrinsic_dim.memory import reuse_freed_memory
from intrinsic_dim.runs import environment, store
from intrinsic_dim.runs.claim import claim
from intrinsic_dim.runs.identity import run_key
from intrinsic_dim.tasks import family as families
from intrinsic_dim.tasks.family import Built, RunContext, family_named, seeded_build

log = logging.getLogger(__name__)


# Lightning's precisions that cast every parameter and buffer, and the mixed precision to use instead.
HALF_PRECISIONS = {"16-true": "16-mixed", "bf16-true": "bf16-mixed"}


def check(cfg: DictConfig) -> None:
    """The run's own settings, checked before anything is built."""
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool):
        raise BadInput(f"seed must be an integer, got {cfg.seed!r}; pass seed=<integer>")
    if cfg.subspace.kind != "none" and (not isinstance(cfg.subspace.d, int) or cfg.subspace.d < 1):
        raise BadInput(f"subspace.d must be a positive integer, got {cfg.subspace.d!r}; pass subspace.d=<integer>")
    threads = cfg.threads
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise BadInput(f"threads must be a positive integer or null (all cores), got {cfg.threads!r}; fix threads")
    precision = str((cfg.task.get("trainer") or {}).get("precision", "32-true"))
    if cfg.subspace.kind != "none" and precision in HALF_PRECISIONS:
        raise BadInput(
            f"trainer.precision={precision} casts theta_0, P and theta_d to half precision, which breaks the "
            f"subspace; use trainer.precision={HALF_PRECISIONS[precision]} (the projection stays in float32)"
        )


def writes_to_fd(stream, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):  # no file under it (io.UnsupportedOperation is an OSError)
        return False


@contextlib.contextmanager
def output_to(path: Path, enabled: bool) -> Iterator[None]:
    """Send everything written to stdout and stderr (also by C code and child threads) to `path`."""
    if not enabled:
        yield
        return
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with path.open("a", buffering=1) as file:
            os.dup2(file.fileno(), 1), os.dup2(file.fileno(), 2)
            # Streams over fds 1 and 2 now write to the file and stay in place: a log handler made during
            # this run (Lightning's, on first import) keeps writing to the next run's file, not a closed one.
            stdout = contextlib.nullcontext() if writes_to_fd(sys.stdout, 1) else contextlib.redirect_stdout(file)
            stderr = contextlib.nullcontext() if writes_to_fd(sys.stderr, 2) else contextlib.redirect_stderr(file)
            try:
                with stdout, stderr:
                    yield
            finally:
                sys.stdout.flush(), sys.stderr.flush()
                os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    finally:
        os.close(saved[0]), os.close(saved[1])


def describe(model: torch.nn.Module) -> tuple[int, int, dict | None]:
    """D, the number of trainable tensors, and the state to store (theta_d, scales, buffers; None in full space)."""
    if isinstance(model, SubspaceModel):
        state = {name: value.detach().cpu() if torch.is_tensor(value) else value
                 for name, value in model.state_dict().items()}  # fmt: skip
        return model.projection.D, len(model.projection.sizes), state
    tensors, _ = trainable_tensors(model)
    return sum(tensor.numel() for tensor in tensors), len(tensors), None


@dataclass(frozen=True)
class Trained:
    metrics: dict[str, float]  # e.g. {"val/acc": 0.97, "test/acc": 0.96}
    model: nn.Module  # the trained model: a SubspaceModel, or the full network for subspace=none


def code_modules(cfg: DictConfig) -> list[str]:
    """What computes a run: the family contract (its seeding order) and the family's own modules."""
    family_named(cfg.task.family)  # an unknown family fails here, in one line
    return [families.__name__, families.module_of(cfg.task.family)]


def threads(cfg: DictConfig) -> int:
    """The run's torch threads: `threads`, or this process's default (its cores)."""
    return int(cfg.threads) if cfg.threads else torch.get_num_threads()


def on_a_gpu(task: DictConfig) -> bool:
    """Whether the task's runs train through a Lightning trainer on a GPU (RL runs on the CPU whatever the trainer)."""
    accelerator = str((task.get("trainer") or {}).get("accelerator", "cpu"))
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def device_facts(cfg: DictConfig) -> dict:
    """What a run's settings leave to the machine and that changes its numbers, where it is not the one-CPU
    default (so CPU runs keep their keys): the projections' torch-ops path (GPUs, or no compiler here), the number
    of devices that `devices: -1` or `auto` means here (2 and 8 GPUs take different effective batches), and
    float32 matmul precision and cuDNN's TF32 (on a GPU, or wherever set below float32)."""
    gpu, facts = on_a_gpu(cfg.task), {}
    if gpu or not compiled_kernels_available():
        facts["kernels"] = "torch ops"
    if gpu and str(cfg.task.trainer.get("devices", 1)) in ("-1", "auto"):
        facts["devices"] = torch.cuda.device_count()
    if gpu or torch.get_float32_matmul_precision() != "highest":
        facts["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    if gpu:
        facts["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
    return facts


def runtime(cfg: DictConfig) -> dict:
    """What changes a run's numbers besides its settings and code: the trainer it goes through (its family's group
    trainer, even alone, or the plain one), its torch threads, the versions of its family's libraries, and what
    the machine decides about its devices (`device_facts`)."""
    return {
        "trainer": "group" if groupable(cfg) else "alone",
        "threads": threads(cfg),
        "versions": environment.versions(family_named(cfg.task.family).libraries),
        **device_facts(cfg),
    }


@dataclass
class Planned:
    """A run about to be read or trained: its settings, identity and result folder."""

    cfg: DictConfig
    key: str
    settings: dict
    code: str
    directory: Path

    @classmethod
    def of(cls, cfg: DictConfig) -> Planned:
        check(cfg)
        key, settings, code = run_key(cfg, code_modules(cfg), runtime(cfg))
        kind, d, seed = cfg.subspace.kind, cfg.subspace.d, cfg.seed
        directory = store.run_dir(cfg.paths.results_dir, cfg.task.family, cfg.task.name, kind, d, seed, key)
        return cls(cfg, key, settings, code, directory)

    def stored(self) -> dict | None:
        return store.load(self.directory, self.key)

    def name(self) -> str:
        cfg, kind = self.cfg, self.cfg.subspace.kind
        return f"{cfg.task.name}/{kind}" + (f"/d{cfg.subspace.d}" if kind != "none" else "") + f"/s{cfg.seed}"

    def open_wandb(self, attempt: Path, **wandb_settings):
        cfg = self.cfg
        return tracking.wandb_run(
            cfg.logger, attempt, cfg.quiet, name=self.name(), group=cfg.task.family,
            job_type=store.stage_of(cfg.subspace.kind),
            config={"identity": self.settings, "code": self.code, "key": self.key}, **wandb_settings,
        )  # fmt: skip

    def save(self, output: Trained, seconds: float, attempt: Path, trained_with: list[str]) -> dict:
        cfg, kind = self.cfg, self.cfg.subspace.kind
        D, tensors, state = describe(output.model)
        result = {
            "key": self.key,
            "task": cfg.task.name,
            "family": cfg.task.family,
            "kind": kind,
            "d": cfg.subspace.d,
            "seed": cfg.seed,
            "projection_seed": cfg.subspace.seed if kind != "none" else None,
            "D": D,
            "tensors": tensors,
            "metrics": output.metrics,
            "state": store.STATE_FILE if state is not None else None,
            "identity": self.settings,  # the resolved settings: enough to rebuild the run, projection included
            "code": self.code,
            "provenance": {
                "seconds": round(seconds, 3),  # trained together: the group's time shared equally
                "trained_with": trained_with,  # keys of the runs trained with it as one vectorized model
                "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "host": platform.node(),
                "cpu": cpu_name(),
                "log_dir": str(attempt),
                "packages": environment.installed(),  # every installed distribution (requirements.lock: ours)
            },
        }
        store.save(self.directory, result, state)
        return result


def start_attempt(planned: Planned) -> Path:
    """A fresh log folder for training `planned` (and any run trained with it), the process set up to train."""
    cfg = planned.cfg
    attempt = Path(cfg.paths.output_dir) / planned.key[:10]
    shutil.rmtree(attempt, ignore_errors=True)  # the logs of an earlier attempt that never finished
    attempt.mkdir(parents=True)
    torch.set_num_threads(threads(cfg))
    reuse_freed_memory()
    return attempt


@contextlib.contextmanager
def failures_logged(quiet: bool) -> Iterator[None]:
    try:
        yield
    except Exception:
        if quiet:  # into this attempt's output.log, which the study's failure line points to
            traceback.print_exc()
        raise


def splits(cfg: DictConfig) -> list[str]:
    """The splits the task measures its metrics on (none for a family without data splits)."""
    return list(cfg.task.get("evaluate") or [])


def build(cfg: DictConfig) -> Built:
    """The run's data and model, built by its family in the one seeding order (alone or in a group alike)."""
    try:
        return seeded_build(family_named(cfg.task.family), cfg)
    except InstantiationException as error:  # bad input raised inside a `_target_`: its own one-line message
        if isinstance(error.__cause__, BadInput):
            raise error.__cause__ from None
        raise


def fit_one(cfg: DictConfig, built: Built, context: RunContext) -> Trained:
    """Fit and evaluate one built run with its task's family."""
    family = family_named(cfg.task.family)
    metrics = family.fit(cfg, built, context)
    return Trained({**metrics, **family.evaluate(cfg, built, splits(cfg))}, built.model)


def fit_group(cfgs: list[DictConfig], builts: list[Built], contexts: list[RunContext]) -> list[Trained]:
    """Fit built runs together as one model, then evaluate each alone."""
    family = family_named(cfgs[0].task.family)
    fitted = family.fit_group(cfgs, builts, contexts)
    return [Trained({**metrics, **family.evaluate(cfg, built, splits(cfg))}, built.model)
            for cfg, built, metrics in zip(cfgs, builts, fitted, strict=True)]  # fmt: skip


def train(planned: list[Planned], fit, **wandb_settings) -> tuple[list[Trained], float, Path]:
    """Build `planned`, then train them with `fit(cfgs, builts, contexts) -> outputs` (fit_group, or one run's
    fit_one), each run with its own W&B run, in one log folder: the outputs, each run's share of the time, and that
    folder. Building comes first: a run that cannot be built (d > D, no data) fails before W&B or Lightning print."""
    import lightning  # noqa: F401 - before W&B starts: its import hooks would call its service, which may die

    cfg = planned[0].cfg
    attempt = start_attempt(planned[0])
    with output_to(attempt / "output.log", enabled=cfg.quiet), contextlib.ExitStack() as stack:
        started = time.perf_counter()
        with failures_logged(cfg.quiet):
            builts = [build(entry.cfg) for entry in planned]
        wandb_runs = [stack.enter_context(entry.open_wandb(attempt, **wandb_settings)) for entry in planned]
        with failures_logged(cfg.quiet):
            contexts = [RunContext(attempt, wandb_run) for wandb_run in wandb_runs]
            outputs = fit([entry.cfg for entry in planned], builts, contexts)
        seconds = (time.perf_counter() - started) / len(planned)
        for wandb_run, output in zip(wandb_runs, outputs, strict=True):
            if wandb_run is not None:
                wandb_run.summary.update(output.metrics)
    return outputs, seconds, attempt


def members(cfg: DictConfig) -> list[DictConfig]:
    """The runs `cfg` asks for: its own, then one per entry {d, seed} of `cfg.together`, the other runs of its
    task and kind to train with it."""
    if not OmegaConf.is_list(cfg.together):
        raise BadInput(f"together is a list of {{d: <integer>, seed: <integer>}}, got {cfg.together!r}; fix `together`")
    pairs = [(cfg.subspace.d, cfg.seed)]
    for entry in cfg.together:
        if (
            not OmegaConf.is_dict(entry)
            or set(entry) != {"d", "seed"}
            or not all(isinstance(entry[key], int) and not isinstance(entry[key], bool) for key in ("d", "seed"))
        ):
            raise BadInput(f"together entries are {{d: <integer>, seed: <integer>}}, got {entry}; fix `together`")
        if (entry.d, entry.seed) in pairs:
            raise BadInput(
                f"together lists d={entry.d} seed={entry.seed} twice (this run's own subspace.d and seed count "
                "once already); list only the other runs"
            )
        pairs.append((entry.d, entry.seed))
    runs = []
    for d, seed in pairs:
        member = copy.deepcopy(cfg)
        member.together, member.seed, member.subspace.d = [], seed, d
        runs.append(member)
    return runs


def groupable(cfg: DictConfig) -> bool:
    """Whether the run is trained by its family's group trainer (alone, it is a group of one): a subspace run
    whose family trains this task's runs together (Family.trains_together), on one device (on several, each
    process would draw the batch order of one run for all)."""
    trainer = cfg.task.get("trainer") or {}
    one_device = trainer.get("devices", 1) == 1 and trainer.get("strategy", "auto") == "auto"
    return cfg.subspace.kind != "none" and family_named(cfg.task.family).trains_together(cfg) and one_device


def save_each(group: list[Planned], outputs: list[Trained], seconds: float, attempt: Path) -> dict[str, dict]:
    """Store every run of a group that trained: one that cannot be stored (a full disk) costs only itself."""
    keys = [entry.key for entry in group]
    saved, errors = {}, []
    for entry, output in zip(group, outputs, strict=True):
        try:
            saved[entry.key] = entry.save(output, seconds, attempt, [key for key in keys if key != entry.key])
        except BadInput as error:
            errors.append(error)
    if errors:
        raise errors[0]
    return saved


def train_claimed(mine: list[Planned]) -> dict[str, dict]:
    """Train and store the runs this process claimed, by key. A family's group trainer trains them as one
    group; if that fails for any reason but bad input (say, memory), as groups of one: the same numbers."""
    if not mine:
        return {}
    if not groupable(mine[0].cfg):
        return each(mine, lambda entry: train_group([entry], fit_alone))
    try:
        return train_group(mine, fit_group)
    except BadInput:
        raise
    except Exception as error:
        if len(mine) == 1:
            raise
        log.warning("training %d runs together failed (%s); training them one at a time", len(mine), error)
    return each(mine, lambda entry: train_group([entry], fit_group))


def fit_alone(cfgs: list[DictConfig], builts: list[Built], contexts: list[RunContext]) -> list[Trained]:
    """`fit_one` in the form `train` takes: one run through its family's plain trainer."""
    return [fit_one(cfgs[0], builts[0], contexts[0])]


def train_group(group: list[Planned], fit) -> dict[str, dict]:
    return save_each(group, *train(group, fit, reinit="create_new"))


def each(entries: list[Planned], train_entry) -> dict[str, dict]:
    """`train_entry` for every entry, all tried even when one fails (the first error is raised at the end)."""
    results, errors = {}, []
    for entry in entries:
        try:
            results.update(train_entry(entry))
        except Exception as error:  # noqa: BLE001 - raised below, once every run had its chance
            errors.append(error)
    if errors:
        raise errors[0]
    return results


def requested(cfg: DictConfig) -> list[dict]:
    """The results of every run `cfg` asks for (its own, and with `together` the runs to train with it): each
    read from the store, or trained and stored by this process while it holds the run's claim. A run that
    another process holds is waited for, then read, or trained here if that process died first."""
    planned = [Planned.of(member) for member in members(cfg)]
    results_dir = cfg.paths.results_dir
    results: dict[str, dict] = {}
    with contextlib.ExitStack() as held:
        mine = []
        for entry in planned:
            stored = entry.stored()
            if stored is not None:
                results[entry.key] = stored
                continue
            store.ensure_writable(entry.directory.parent)  # before any claim or log: one line, no traceback
            if held.enter_context(claim(results_dir, entry.key, wait=False)):
                stored = entry.stored()  # finished by another process between the two looks
                if stored is not None:
                    results[entry.key] = stored
                else:
                    mine.append(entry)
        results.update(train_claimed(mine))
    for entry in planned:
        if entry.key not in results:
            with claim(results_dir, entry.key, wait=True):
                results[entry.key] = entry.stored() or train_claimed([entry])[entry.key]
    return [results[entry.key] for entry in planned]


def run(cfg: DictConfig) -> dict:
    """The result of the one run `cfg` describes: read from the store if finished, else trained now and stored."""
    (result,) = requested(cfg)
    return result
