"""What identifies a run: the settings that determine its result, and a fingerprint of the code that computes it.

Two configs are the same run when their identities are equal. Locations (`paths`), logging, the fetch
settings of a dataset, and a task's study bookkeeping (budgets, grid, thresholds, paper values) are not part
of it; every value a run actually uses is, because the identity is taken after interpolation: a budget's
epochs count through `trainer.max_epochs`, its learning rate through `optimizer.lr`.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

PACKAGE = "intrinsic_dim"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
IDENTITY_GROUPS = ("task", "subspace", "seed", "dataset")
NOT_IDENTITY = {
    "task": ("study", "budget", "budgets", "train_together", "bounds"),  # train_together: in runtime.trainer
    "task.trainer": (  # how a run is shown and where it runs, not what it computes
        "deterministic", "enable_progress_bar", "enable_model_summary", "enable_checkpointing",
        "log_every_n_steps", "default_root_dir",
    ),
    "dataset.source": ("root", "mirror", "download"),
}  # fmt: skip
# Files besides Python modules that a module's code depends on.
EXTRA_SOURCES = {"intrinsic_dim.core.kernels": ("core/csrc",)}
# What only the torch-ops path executes (GPUs, CPUs without a compiler): left out of the code of runs on the
# compiled kernels, so that work on the GPU path keeps CPU run keys.
TORCH_OPS_MODULES = frozenset({"intrinsic_dim.core.torch_ops"})


def identity(cfg: DictConfig) -> dict:
    """The resolved settings that determine a run's result, with every location replaced by its name."""
    cfg = copy.deepcopy(cfg)
    for key in cfg.paths:
        cfg.paths[key] = f"<paths.{key}>"
    settings = {
        group: OmegaConf.to_container(cfg[group], resolve=True) if OmegaConf.is_config(cfg[group]) else cfg[group]
        for group in IDENTITY_GROUPS
        if group in cfg
    }
    for path, keys in NOT_IDENTITY.items():
        node = settings
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        for key in keys if isinstance(node, dict) else ():
            node.pop(key, None)
    return settings


def targets(node) -> Iterable[str]:
    """Every `_target_` named in a resolved config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                yield value
            else:
                yield from targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from targets(value)


def module_file(name: str, root: Path) -> Path | None:
    """The source file of module `name` of this package under `root`, or None if it is not a module."""
    parts = name.split(".")[1:]
    candidates = [root.joinpath(*parts) / "__init__.py"]
    if parts:
        candidates.append(root.joinpath(*parts[:-1]) / f"{parts[-1]}.py")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def imported_modules(tree: ast.AST) -> Iterable[str]:
    """Names this code imports from the package: modules, and `from module import name` as both."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def normalized_source(path: Path) -> str:
    """The code without comments, docstrings and formatting: only changes to what runs count."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


def module_closure(roots: Iterable[str], root: Path, left_out: frozenset[str] = frozenset()) -> dict[str, Path]:
    """Every package module that importing `roots` executes: themselves, what they import, parent packages;
    but `left_out`, modules the run never calls."""
    found: dict[str, Path] = {}
    pending = [name for name in roots if name.split(".")[0] == PACKAGE]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            prefix = ".".join(parts[:depth])
            path = module_file(prefix, root)
            if path is None or prefix in found or prefix in left_out:
                continue
            found[prefix] = path
            pending += [imported for imported in imported_modules(ast.parse(path.read_text()))
                        if imported.split(".")[0] == PACKAGE]  # fmt: skip
    return found


@functools.cache
def code_fingerprint(roots: tuple[str, ...], root: Path = PACKAGE_DIR, left_out: frozenset[str] = frozenset()) -> str:
    """sha256 over the normalized source of every module the roots execute (and their C++ sources)."""
    digest = hashlib.sha256()
    for name, path in sorted(module_closure(roots, root, left_out).items()):
        digest.update(f"{name}\n{normalized_source(path)}\n".encode())
        for extra in EXTRA_SOURCES.get(name, ()):
            for file in sorted((root / extra).rglob("*")):
                if file.is_file():
                    digest.update(f"{file.relative_to(root)}\n".encode() + file.read_bytes())
    return digest.hexdigest()


def run_key(cfg: DictConfig, modules: Iterable[str], runtime: dict) -> tuple[str, dict, str]:
    """(key, identity, code fingerprint) of the run `cfg` describes, computed by `modules` (its family's, which
    train it alone or in a group) and the `_target_`s of its settings, on `runtime` (threads, library versions,
    the trainer it goes through; `kernels` when not the compiled ones): the key names its result folder."""
    settings = {**identity(cfg), "runtime": runtime}
    left_out = frozenset() if runtime.get("kernels") == "torch ops" else TORCH_OPS_MODULES
    code = code_fingerprint(tuple(sorted({*modules, *targets(settings)})), left_out=left_out)
    key = hashlib.sha256(json.dumps({"identity": settings, "code": code}, sort_keys=True).encode()).hexdigest()
    return key, settings, code
