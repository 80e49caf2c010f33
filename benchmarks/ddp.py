"""What DDP costs a subspace model: a step of the same examples in one process, split over two processes that do
not talk (each with its own P theta_d: the projection is per step, not per example, so every rank pays it), and
over two DDP processes with the `ddp` preset's settings (buffers not re-sent) and with DDP's defaults (every buffer,
theta_0 and P's constants included, broadcast before each forward). CPU processes over gloo, one torch thread each,
against one process with both threads: `trainer=ddp_sim`'s path, measurable without GPUs. On two cores the two
processes share one memory bus, which a dense P's matrix-vector product saturates; GPUs do not share it.

    python benchmarks/ddp.py          # MNIST FC, Fastfood and dense at d = 1,000
    python benchmarks/ddp.py --quick  # a tiny net, for the tests

Writes results/ddp.json and results/ddp.md (or --out-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import hydra
import torch
import torch.distributed as dist
from core import RESULTS, make_model, timed_ms, train_step_fn, write_results
from torch.nn.parallel import DistributedDataParallel

from intrinsic_dim.config import compose
from intrinsic_dim.machine import cpu_name

RANKS = 2
FULL = {"net": (784, 200, 200, 10), "configs": [("fastfood", 1000), ("dense", 1000)], "batch": 256, "repeats": 60}
QUICK = {"net": (32, 64, 10), "configs": [("fastfood", 10)], "batch": 16, "repeats": 5}
TARGET = 1.2  # issue #34: what DDP adds to a step, at most 1.2x


def preset_ddp_settings() -> dict:
    """The keyword arguments `trainer=ddp` hands to torch's DistributedDataParallel."""
    strategy = compose(["trainer=ddp"], config_name="train").trainer.strategy
    return dict(hydra.utils.instantiate(strategy)._ddp_kwargs)


def examples(widths, batch: int, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(rank)
    return torch.randn(batch, widths[0], generator=generator), torch.randint(widths[-1], (batch,), generator=generator)


def rank_steps(rank: int, settings: dict | None, widths, kind: str, d: int, batch: int, repeats: int, port: int,
               out: str) -> None:  # fmt: skip
    """One rank: its share of the batch per step (through DDP unless `settings` is None); rank 0 writes its step
    times."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=RANKS, init_method=f"tcp://127.0.0.1:{port}")
    model, _ = make_model(widths, kind, d)
    wrapped = model if settings is None else DistributedDataParallel(model, **settings)
    times = timed_ms(train_step_fn(wrapped, *examples(widths, batch // RANKS, rank)), repeats, warm_ups=3)
    if rank == 0:
        Path(out).write_text(json.dumps(times))
    dist.destroy_process_group()


def ddp_step_ms(settings: dict | None, widths, kind: str, d: int, batch: int, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "times.json"
        port = 20000 + (os.getpid() + int(time.time())) % 20000
        torch.multiprocessing.spawn(rank_steps, args=(settings, widths, kind, d, batch, repeats, port, str(out)),
                                    nprocs=RANKS)  # fmt: skip
        return statistics.median(json.loads(out.read_text()))


def one_process_step_ms(widths, kind: str, d: int, batch: int, repeats: int) -> float:
    torch.set_num_threads(RANKS)
    model, _ = make_model(widths, kind, d)
    return statistics.median(timed_ms(train_step_fn(model, *examples(widths, batch, 0)), repeats, warm_ups=3))


def markdown(results: dict) -> str:
    lines = [
        f"Measured {results['date']} on {results['cpu']}: a training step (forward, backward, Adam) of "
        f"{results['batch']} examples, in one process with {RANKS} threads or split over {RANKS} DDP processes (gloo) "
        "of one thread each.",
        "",
        "| net | kind | d | one process (ms) | two processes, no DDP (ms) | DDP, preset (ms) | DDP, defaults (ms) | "
        "preset / no DDP | defaults / no DDP | preset / one process |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['net']} | {row['kind']} | {row['d']:,} | {row['one_process_ms']:.2f} | {row['apart_ms']:.2f} | "
            f"{row['preset_ms']:.2f} | {row['defaults_ms']:.2f} | {row['preset_ms'] / row['apart_ms']:.2f}x | "
            f"{row['defaults_ms'] / row['apart_ms']:.2f}x | {row['preset_ms'] / row['one_process_ms']:.2f}x |"
        )
    lines += ["", f"Preset settings: `{results['preset_settings']}`. Target: what DDP adds, preset / no DDP, at "
              f"most {TARGET}x."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny net (tests)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    widths, batch, repeats = plan["net"], plan["batch"], plan["repeats"]
    preset = preset_ddp_settings()
    rows = []
    for kind, d in plan["configs"]:
        single = one_process_step_ms(widths, kind, d, batch, repeats)
        apart = ddp_step_ms(None, widths, kind, d, batch, repeats)
        with_preset = ddp_step_ms(preset, widths, kind, d, batch, repeats)
        with_defaults = ddp_step_ms({}, widths, kind, d, batch, repeats)
        rows.append({"net": "-".join(map(str, widths)), "kind": kind, "d": d, "one_process_ms": single,
                     "apart_ms": apart, "preset_ms": with_preset, "defaults_ms": with_defaults})  # fmt: skip
        print(f"{kind} d={d}: one process {single:.2f} ms, two apart {apart:.2f} ms, DDP preset {with_preset:.2f} ms, "
              f"DDP defaults {with_defaults:.2f} ms", flush=True)  # fmt: skip
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "torch": torch.__version__, "batch": batch,
               "preset_settings": preset, "rows": rows}  # fmt: skip
    write_results(args.out_dir, "ddp", results, markdown(results))


if __name__ == "__main__":
    main()
