"""A family's bounds: every bounded option of every run, the one each task selects (on training data only),
its markdown table, its metrics, and its figure (bounds and held-out error against d)."""

from __future__ import annotations

import json
from pathlib import Path

from intrinsic_dim.plots import comma_ticks, plt, save

COLUMNS = ("task", "kind", "d", "levels", "bits", "compression", "train err", "held-out err", "Occam", "Catoni")


def selected(rows: list[dict]) -> dict[str, dict]:
    """{task: its row with the smallest Catoni bound}: a choice made from training error and bits alone."""
    best: dict[str, dict] = {}
    for row in rows:
        if row["task"] not in best or row["catoni"] < best[row["task"]]["catoni"]:
            best[row["task"]] = row
    return best


def best_per_d(rows: list[dict], task: str) -> list[dict]:
    """The task's row with the smallest Catoni bound at each (kind, d), in order of d."""
    best: dict[tuple, dict] = {}
    for row in rows:
        key = (row["kind"], row["d"])
        if row["task"] == task and (key not in best or row["catoni"] < best[key]["catoni"]):
            best[key] = row
    return sorted(best.values(), key=lambda row: (row["kind"], row["d"]))


def cells(row: dict) -> list[str]:
    return [
        row["task"], row["kind"], f"{row['d']:,}", f"{row['levels_used']}", f"{row['bits']:,.0f}",
        f"{row['compression']:,.0f}x", f"{row['train_error']:.2%}", f"{row['held_out_error']:.2%} ({row['held_out']})",
        f"{row['occam']:.2%}", f"{row['catoni']:.2%}",
    ]  # fmt: skip


def markdown(rows: list[dict]) -> str:
    """The selected bound of each task, then every (kind, d) at its best codebook."""
    header = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    chosen = selected(rows)
    lines = ["Selected by the Catoni bound (training error and bits only):", "", *header]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in chosen.values()]
    lines += ["", "Every bounded run at its best codebook:", "", *header]
    lines += ["| " + " | ".join(cells(row)) + " |" for task in chosen for row in best_per_d(rows, task)]
    return "\n".join(lines) + "\n"


def write_metrics(rows: list[dict], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):  # tasks no longer bounded
        stale.unlink()
    # few, short keys: `dvc metrics show` puts every metric file in one table (the rest is in the markdown)
    short = {"d": "d", "bits": "bits", "train_err": "train_error", "held_out_err": "held_out_error", "bound": "catoni"}
    for task, row in selected(rows).items():
        metrics = {name: round(row[key], 4) if isinstance(row[key], float) else row[key] for name, key in short.items()}
        (directory / f"{task}.json").write_text(json.dumps(metrics, indent=2) + "\n")


def plot_bounds(rows: list[dict], task: str, path: Path) -> None:
    """Both bounds, the training and the held-out error of the quantized model, against d."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for kind in sorted({row["kind"] for row in rows if row["task"] == task}):
        points = [row for row in best_per_d(rows, task) if row["kind"] == kind]
        d = [row["d"] for row in points]
        for key, label, style in (
            ("catoni", "Catoni bound", "-"),
            ("occam", "Occam bound", "--"),
            ("held_out_error", "held-out error", ":"),
            ("train_error", "train error", "-."),
        ):
            axis.plot(d, [row[key] for row in points], style, marker="o", markersize=3, label=f"{kind}: {label}")
    axis.set(xscale="log", xlabel="subspace dimension d", ylabel="0-1 error", ylim=(0, 1), title=f"{task}: bounds")
    comma_ticks(axis.xaxis)
    axis.legend(fontsize=7)
    save(figure, path)
