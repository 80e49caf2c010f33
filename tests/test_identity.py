import re
import shutil

import pytest

from helpers import ROOT
from intrinsic_dim.config import compose
from intrinsic_dim.run import Planned, code_modules, runtime
from intrinsic_dim.runs import environment, identity
from intrinsic_dim.runs.identity import code_fingerprint, module_closure, run_key
from intrinsic_dim.tasks.family import family_named

BASE = ["task=mnist_fc", "subspace=fastfood", "subspace.d=300"]


def key(*overrides: str) -> str:
    return Planned.of(compose([*BASE, *overrides])).key


@pytest.mark.parametrize(
    "overrides",
    [
        ["paths.results_dir=/elsewhere", "paths.data_dir=/data", "paths.mirror_dir=/mirror"],
        ["logger=csv"],
        ["profile.seeds=[0,1,2]", "profile.tasks=[mnist_fc]"],  # a study's bookkeeping
        ["task.budgets.quick.grid=[1,2,3]", "task.budgets.quick.precision=1.01", "task.budgets.paper.epochs=7"],
        ["task.study.thresholds.absolute.target=0.5", "task.study.paper.d_int90=1"],
        ["dataset.source.mirror=/x", "dataset.source.download=true"],
        ["trainer.enable_progress_bar=false", "quiet=true", "trainer.log_every_n_steps=1"],  # how it shows
    ],
    ids=lambda overrides: overrides[0].split("=")[0],
)
def test_what_does_not_determine_a_result_is_not_part_of_the_identity(overrides):
    assert key(*overrides) == key()


@pytest.mark.parametrize(
    "overrides",
    [
        ["task.budgets.quick.epochs=2"],  # through trainer.max_epochs
        ["trainer.max_epochs=2"],
        ["task.budgets.quick.lr.subspace=0.1"],  # through the optimizer's lr
        ["seed=1"],
        ["subspace.seed=7"],
        ["subspace.d=301"],
        ["subspace=sparse"],
        ["task.data.batch_size=64"],
        ["dataset.source.split_seed=1"],  # another validation split
        ["trainer=ddp_sim"],  # another effective batch
        ["trainer=gpu"],  # another device
        ["trainer.precision=bf16-mixed"],
        ["threads=7"],  # other reduction orders in matrix products
        ["task.train_together=false"],  # the plain trainer instead of the group trainer
        ["task=mnist_lenet"],
    ],
    ids=lambda overrides: overrides[0],
)
def test_what_determines_a_result_changes_the_identity(overrides):
    assert key(*overrides) != key()


def test_a_run_has_one_key_alone_or_grouped_and_its_group_trainer_is_part_of_its_code():
    cfg = compose(BASE)
    assert key("together=[{d:100,seed:3}]") == key()
    modules = module_closure(code_modules(cfg), identity.PACKAGE_DIR)
    assert {"intrinsic_dim.tasks.vision.together", "intrinsic_dim.core.vectorized"} <= set(modules)


def test_the_versions_of_a_familys_libraries_are_part_of_its_runs_keys(monkeypatch):
    before = {task: Planned.of(compose([f"task={task}"])).key for task in ("mnist_fc", "cartpole_es")}
    installed = environment.version

    def version(distribution: str) -> str:
        return "99.0" if distribution == "gymnasium" else installed(distribution)

    monkeypatch.setattr(environment, "version", version)
    assert Planned.of(compose(["task=mnist_fc"])).key == before["mnist_fc"]  # vision runs do not use gymnasium
    assert Planned.of(compose(["task=cartpole_es"])).key != before["cartpole_es"]
    assert Planned.of(compose(["task=cartpole_es"])).settings["runtime"]["versions"]["gymnasium"] == "99.0"


def test_what_the_machine_decides_about_devices_is_part_of_the_key_and_a_cpu_run_gains_nothing(monkeypatch):
    """`devices: -1` means every GPU of the machine: 2 and 8 GPUs take different effective batches, so other keys.
    A one-CPU run's runtime holds only its trainer, threads and versions: its key did not change."""
    assert set(runtime(compose(BASE))) == {"trainer", "threads", "versions"}
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    on_two = Planned.of(compose([*BASE, "trainer=ddp"]))
    monkeypatch.setattr("torch.cuda.device_count", lambda: 8)
    on_eight = Planned.of(compose([*BASE, "trainer=ddp"]))
    assert on_two.settings["runtime"]["devices"] == 2 and on_eight.settings["runtime"]["devices"] == 8
    assert on_two.key != on_eight.key
    assert on_eight.settings["runtime"]["float32_matmul_precision"] == "highest"
    cpu = key()
    monkeypatch.setattr("torch.get_float32_matmul_precision", lambda: "high")  # TF32 or bf16 inside matmuls
    assert key() != cpu and key("trainer=ddp") != on_eight.key


def test_the_torch_ops_path_is_code_of_the_runs_that_take_it_only(monkeypatch):
    """A GPU run, or a CPU without a compiler, runs `core.torch_ops`; a CPU run on the compiled kernels does not,
    so a change there leaves CPU keys alone."""
    compiled = Planned.of(compose(BASE))
    monkeypatch.setattr("intrinsic_dim.run.compiled_kernels_available", lambda: False)
    torch_ops = Planned.of(compose(BASE))
    assert torch_ops.settings["runtime"]["kernels"] == "torch ops" and "kernels" not in compiled.settings["runtime"]
    source = identity.normalized_source

    def changed_torch_ops(path):
        return source(path) + ("changed" if path.name == "torch_ops.py" else "")

    monkeypatch.setattr(identity, "normalized_source", changed_torch_ops)
    code_fingerprint.cache_clear()
    monkeypatch.setattr("intrinsic_dim.run.compiled_kernels_available", lambda: True)
    assert Planned.of(compose(BASE)).key == compiled.key
    monkeypatch.setattr("intrinsic_dim.run.compiled_kernels_available", lambda: False)
    assert Planned.of(compose(BASE)).key != torch_ops.key
    code_fingerprint.cache_clear()


def test_identity_is_resolved_and_has_no_locations():
    cfg = compose(BASE)
    _, settings, _ = run_key(cfg, code_modules(cfg), runtime(cfg))
    assert settings["task"]["trainer"]["max_epochs"] == 5 and settings["task"]["optimizer"]["lr"] == 0.03
    assert settings["task"]["data"]["path"] == "<paths.prepared_dir>/mnist.pt"
    assert "budgets" not in settings["task"] and "study" not in settings["task"]
    assert "mirror" not in settings["dataset"]["source"]


@pytest.mark.parametrize(
    ("task", "family_modules"),
    [
        ("mnist_fc", {"intrinsic_dim.tasks.classification", "intrinsic_dim.tasks.vision.images"}),
        ("mrpc_minilm", {"intrinsic_dim.tasks.language.finetune", "intrinsic_dim.tasks.language.tokenized_text"}),
        ("cartpole_es", {"intrinsic_dim.tasks.rl.es", "intrinsic_dim.tasks.rl.rollouts"}),
        ("toy", {"intrinsic_dim.tasks.toy.problem"}),
    ],
)
def test_the_fingerprint_covers_the_code_a_run_executes_and_nothing_else(task, family_modules):
    cfg = compose([f"task={task}", "subspace=fastfood", "subspace.d=10"])
    modules = set(module_closure([*code_modules(cfg), *identity.targets(identity.identity(cfg))], identity.PACKAGE_DIR))
    core = {"intrinsic_dim.core.projections.fastfood", "intrinsic_dim.core.kernels", "intrinsic_dim.core.subspace"}
    assert core | family_modules | {"intrinsic_dim.tasks.family"} <= modules
    others = [[family] for family in {"vision", "language", "rl", "toy"} - {cfg.task.family}]
    assert not {name for name in modules if name.split(".")[2:3] in others}  # another family's code changes nothing
    unrelated = ("intrinsic_dim.study", "intrinsic_dim.runs", "intrinsic_dim.run", "intrinsic_dim.tracking")
    assert not {name for name in modules if name.startswith(unrelated)}


def test_code_changes_change_the_fingerprint_comments_do_not(tmp_path):
    package = tmp_path / "intrinsic_dim"
    shutil.copytree(identity.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))

    def fingerprint() -> str:
        code_fingerprint.cache_clear()
        return code_fingerprint(("intrinsic_dim.tasks.family",), package)

    original = fingerprint()
    fastfood = package / "core" / "projections" / "fastfood.py"
    fastfood.write_text(fastfood.read_text().replace('"""Fastfood projection', '"""A Fastfood projection') + "# x\n")
    assert fingerprint() == original  # docstrings and comments do not run
    fastfood.write_text(fastfood.read_text().replace("out_sizes[row] * row_gains", "2 * out_sizes[row] * row_gains"))
    assert fingerprint() != original
    shutil.copytree(identity.PACKAGE_DIR, package, dirs_exist_ok=True)
    kernel = package / "core" / "csrc" / "kernels.cpp"
    kernel.write_text(kernel.read_text() + "\n// a changed kernel\n")
    assert fingerprint() != original


def test_the_lock_file_pins_every_library_a_run_key_names():
    def canonical(name: str) -> str:  # as pip compares names: stable_baselines3 is stable-baselines3
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {canonical(line.split("==")[0]) for line in (ROOT / "requirements.lock").read_text().splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    for family in ("toy", "vision", "language", "rl"):
        for library in family_named(family).libraries:
            assert canonical(library) in pinned, f"{library} ({family}) is not in requirements.lock"
