"""Wall time of the default `dvc repro`, stage by stage, on this machine: the README's measured time.

    python benchmarks/pipeline.py            # `dvc repro` in this checkout, timed; rerun after an interruption
    python benchmarks/pipeline.py --restart  # forget the segments timed so far (before a run from an empty store)

`dvc repro` runs as a child process with its output passed through; each line `Running stage '<name>'` starts
that stage's clock. A session that ends mid-run loses nothing: finished runs are stored, the same command resumes
them, and this script adds each invocation's times to results/pipeline.json (the segments, each with its start,
its wall time per stage and how it ended), so the total is the sum over sessions of time spent running stages.
Writes results/pipeline.json and results/pipeline.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from intrinsic_dim.config import pipeline_profile
from intrinsic_dim.machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
STAGE = re.compile(r"^Running stage '([^']+)'")


def timed_repro(arguments: list[str]) -> dict:
    """One `dvc repro` invocation: its wall time per stage (in order of start) and its exit code."""
    stages: dict[str, float] = {}
    current, started = None, time.perf_counter()
    clock = started
    # its own process group, so that an interrupt of this script (Ctrl-C, or a signal to it alone) reaches the
    # study below dvc and its workers: they stop and say how to resume, instead of training on unrecorded
    process = subprocess.Popen(["dvc", "repro", *arguments], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)  # fmt: skip
    try:
        for line in process.stdout:
            found = STAGE.match(line)
            if found:  # recorded before the line is shown, so an interrupt prompted by it finds the stage started
                now = time.perf_counter()
                if current is not None:
                    stages[current] = stages.get(current, 0.0) + now - clock
                current, clock = found.group(1), now
            sys.stdout.write(line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGINT)
        for line in process.stdout:  # the study's last words: which runs are kept, how to resume
            sys.stdout.write(line)
    code = process.wait()
    if current is not None:
        stages[current] = stages.get(current, 0.0) + time.perf_counter() - clock
    return {"started": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(time.perf_counter() - started, 1),
            "stages": {name: round(seconds, 1) for name, seconds in stages.items()}, "exit_code": code}  # fmt: skip


def totals(segments: list[dict]) -> dict[str, float]:
    summed: dict[str, float] = {}
    for segment in segments:
        for name, seconds in segment["stages"].items():
            summed[name] = round(summed.get(name, 0.0) + seconds, 1)
    return summed


def markdown(results: dict) -> str:
    stages = totals(results["segments"])
    finished = results["segments"] and results["segments"][-1]["exit_code"] == 0
    lines = [
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores): `dvc repro` of the "
        f"`{results['profile']}` profile from an empty result store, in {len(results['segments'])} "
        f"invocation(s){'' if finished else ' (not finished yet)'}.",
        "",
        "| stage | wall time (min) |",
        "|---|---|",
        *(f"| {name} | {seconds / 60:.1f} |" for name, seconds in stages.items()),
        f"| **total** | **{sum(stages.values()) / 60:.1f}** |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restart", action="store_true", help="start a new measurement, dropping earlier segments")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("arguments", nargs="*", help="passed to `dvc repro` (stage names)")
    args = parser.parse_args()
    # started as a background job the process ignores SIGINT; a deliberate `kill -INT` should still stop the stage
    # and keep what finished (the handler is reset to the default in `dvc` and the study below it)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    path = args.out_dir / "pipeline.json"
    earlier = [] if args.restart or not path.is_file() else json.loads(path.read_text())["segments"]
    segment = timed_repro(args.arguments)
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
               "profile": pipeline_profile(), "segments": [*earlier, segment]}  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (args.out_dir / "pipeline.md").write_text(markdown(results))
    print(markdown(results), end="")
    sys.exit(segment["exit_code"])


if __name__ == "__main__":
    main()
