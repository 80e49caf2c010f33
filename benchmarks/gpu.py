"""The GPU path against the CPU's compiled kernels, for every projection kind, and its speed on the device.

    python benchmarks/gpu.py                     # on cuda:0; DDP on two GPUs too where there are two
    python benchmarks/gpu.py --torch-ops-on-cpu  # the same checks of the torch-ops path (what a GPU runs) on the CPU

Checks, each as the relative error against the CPU's compiled kernels in float32: P theta_d, the network's output,
the gradient of theta_d (and of SAID's scales), P's constants drawn on the device against the CPU's, a vectorized
group of two runs, and a few Lightning training steps of mnist_fc through the engine (theta_d after them); with two
GPUs, a `trainer=ddp` run against one device taking the same examples. Then the step time of each kind against the
direct network on the device (the core benchmark's ratio). Writes results/gpu.json and results/gpu.md (or
--out-dir); without CUDA it says so in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch
from core import BATCH, RESULTS, make_model, mnist_shaped, timed_ms, train_step_fn, write_results
from torch import nn

from intrinsic_dim.config import compose
from intrinsic_dim.core import kernels
from intrinsic_dim.core.projections import make_projection
from intrinsic_dim.core.vectorized import VectorizedRuns
from intrinsic_dim.machine import cpu_name

KINDS = ("dense", "sparse", "fastfood", "said")
FULL = {"net": (784, 200, 200, 10), "d": 1000, "examples": 2048, "repeats": 50}
QUICK = {"net": (32, 64, 10), "d": 20, "examples": 256, "repeats": 5}
TOLERANCE = 1e-5  # float32 sums in another order; TF32 or half precision would be far above it


def relative_error(candidate: torch.Tensor, reference: torch.Tensor) -> float:
    reference = reference.detach().double()
    return float((candidate.detach().cpu().double() - reference).norm() / reference.norm())


@contextlib.contextmanager
def device_path(device: torch.device):
    """What a run on `device` executes: on the CPU, the torch-ops versions instead of the compiled kernels."""
    if device.type != "cpu":
        yield
        return
    with mock.patch.object(kernels, "compiled_kernels_available", lambda: False):
        yield


def batch(widths, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(BATCH, widths[0], generator=generator)
    return inputs.to(device), torch.randint(widths[-1], (BATCH,), generator=generator).to(device)


def moved_subspace(widths, kind: str, d: int, device: torch.device) -> nn.Module:
    """The run's model, built as on the CPU and moved, with theta_d away from 0 (the same on every device)."""
    model, _ = make_model(widths, kind, d)
    with torch.no_grad():
        model.theta_d.copy_(torch.randn(model.theta_d.numel(), generator=torch.Generator().manual_seed(2)) * 0.1)
    return model.to(device)


def gradients(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad()
    output = model(inputs)
    nn.functional.cross_entropy(output, labels).backward()
    return {"output": output, **{f"gradient of {name}": p.grad for name, p in model.named_parameters()}}


def kind_checks(widths, kind: str, d: int, device: torch.device) -> list[dict]:
    reference = moved_subspace(widths, kind, d, torch.device("cpu"))
    expected = {"P theta_d": reference.parameters_flat(), **gradients(reference, *batch(widths, torch.device("cpu")))}
    with device_path(device):
        candidate = moved_subspace(widths, kind, d, device)
        found = {"P theta_d": candidate.parameters_flat(), **gradients(candidate, *batch(widths, device))}
    rows = [{"kind": kind, "check": name, "relative_error": relative_error(found[name], expected[name])}
            for name in expected]  # fmt: skip
    projection = reference.projection
    drawn_there = make_projection(kind, projection.sizes, d, projection.seed, device)
    errors = [
        relative_error(there, here) for here, there in zip(projection.buffers(), drawn_there.buffers(), strict=True)
    ]
    return [*rows, {"kind": kind, "check": "P drawn on the device", "relative_error": max(errors)}]


def vectorized_check(widths, d: int, device: torch.device) -> dict:
    def group(on: torch.device) -> torch.Tensor:
        runs = []
        for seed in range(2):
            torch.manual_seed(seed)
            runs.append(moved_subspace(widths, "fastfood", d, on))
        inputs = torch.stack([batch(widths, on)[0]] * 2)
        return VectorizedRuns(runs)(inputs)

    expected = group(torch.device("cpu"))
    with device_path(device):
        found = group(device)
    return {"kind": "fastfood", "check": "vectorized group of 2", "relative_error": relative_error(found, expected)}


def engine_theta_d(trainer: list[str], prepared: Path, folder: Path, d: int) -> torch.Tensor:
    """theta_d after one epoch of mnist_fc on `prepared` through the engine (Lightning) with `trainer` overrides."""
    from intrinsic_dim.run import run  # Lightning takes seconds to import: only where a run is trained
    from intrinsic_dim.runs.store import STATE_FILE

    cfg = compose(["task=mnist_fc", "profile=quick", "subspace=fastfood", f"subspace.d={d}", "logger=csv",
                   f"dataset.prepared={prepared}", f"paths.results_dir={folder}", "task.budgets.quick.epochs=1",
                   "quiet=true", *trainer])  # fmt: skip
    cfg.paths.output_dir = str(folder / "logs")
    run(cfg)
    (state,) = folder.rglob(STATE_FILE)
    return torch.load(state)["theta_d"]


def engine_checks(device: torch.device, d: int, examples: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        prepared = mnist_shaped(folder / "mnist.pt", examples)
        expected = engine_theta_d(["trainer=cpu"], prepared, folder / "cpu", d)
        rows = []
        with device_path(device):
            trainer = ["trainer=gpu"] if device.type == "cuda" else ["trainer=cpu"]
            found = engine_theta_d(trainer, prepared, folder / "device", d)
            rows.append({"kind": "fastfood", "check": "Lightning run (theta_d)",
                         "relative_error": relative_error(found, expected)})  # fmt: skip
            if device.type == "cuda" and torch.cuda.device_count() >= 2:
                spread = engine_theta_d(["trainer=ddp", "trainer.devices=2", "task.data.batch_size=64"], prepared,
                                        folder / "ddp", d)  # fmt: skip
                one = engine_theta_d(["trainer=gpu", "task.data.batch_size=128"], prepared, folder / "one", d)
                rows.append({"kind": "fastfood", "check": "DDP on 2 GPUs against 1 (theta_d)",
                             "relative_error": relative_error(spread, one.cpu())})  # fmt: skip
    return rows


def synchronized_ms(step, device: torch.device, repeats: int) -> float:
    def timed_step():
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return statistics.median(timed_ms(timed_step, repeats, warm_ups=3))


def step_ratios(widths, d: int, device: torch.device, repeats: int) -> list[dict]:
    inputs, labels = batch(widths, device)
    rows = []
    with device_path(device):
        direct_ms = synchronized_ms(train_step_fn(make_model(widths, "direct", d)[0].to(device), inputs, labels),
                                    device, repeats)  # fmt: skip
        for kind in KINDS:
            model = moved_subspace(widths, kind, d, device)
            step_ms = synchronized_ms(train_step_fn(model, inputs, labels), device, repeats)
            rows.append({"kind": kind, "d": d, "step_ms": step_ms, "direct_step_ms": direct_ms,
                         "ratio_to_direct": step_ms / direct_ms})  # fmt: skip
    return rows


def markdown(results: dict) -> str:
    lines = [
        f"Measured {results['date']} on {results['device_name']} ({results['path']}), torch {results['torch']}, "
        f"net {results['net']}, d = {results['d']:,}, batch {BATCH}; errors relative to the CPU's compiled kernels.",
        "",
        "| kind | check | relative error | within 1e-5 |",
        "|---|---|---|---|",
        *(f"| {row['kind']} | {row['check']} | {row['relative_error']:.1e} | "
          f"{'yes' if row['relative_error'] <= TOLERANCE else '**no**'} |" for row in results["checks"]),
        "",
        "| kind | step (ms) | direct step (ms) | ratio to direct |",
        "|---|---|---|---|",
        *(f"| {row['kind']} | {row['step_ms']:.2f} | {row['direct_step_ms']:.2f} | {row['ratio_to_direct']:.2f}x |"
          for row in results["steps"]),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-ops-on-cpu", action="store_true", help="check the GPU code path on the CPU")
    parser.add_argument("--quick", action="store_true", help="a tiny net (tests)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.torch_ops_on_cpu and not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py: no CUDA device on this machine; run it where torch.cuda.is_available(), or "
                 "pass --torch-ops-on-cpu to check the GPU code path on the CPU")  # fmt: skip
    device = torch.device("cpu" if args.torch_ops_on_cpu else "cuda:0")
    plan = QUICK if args.quick else FULL
    widths, d = plan["net"], plan["d"]
    checks = [row for kind in KINDS for row in kind_checks(widths, kind, d, device)]
    checks += [vectorized_check(widths, d, device), *engine_checks(device, d, plan["examples"])]
    print(f"{sum(row['relative_error'] <= TOLERANCE for row in checks)}/{len(checks)} checks within {TOLERANCE}",
          flush=True)  # fmt: skip
    results = {
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "net": "-".join(map(str, widths)), "d": d,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "path": "CUDA" if device.type == "cuda" else "torch ops on the CPU",
        "checks": checks, "steps": step_ratios(widths, d, device, plan["repeats"]),
    }  # fmt: skip
    write_results(args.out_dir, "gpu", results, markdown(results))


if __name__ == "__main__":
    main()
