"""A family's bounds: every bounded option of every run, the one each task selects (on training data only),
its markdown table, its metrics, and its figure (bounds and held-out error against d)."""

from __future__ import annotations

from pathlib import Path

from intrinsic_dim.plots import comma_ticks, plt, save
from intrinsic_dim.study.report import write_json_files

COLUMNS = ("task", "kind", "d", "levels", "bits", "compression", "train err", "held-out err", "Occam", "Catoni")


def best_by(rows: list[dict], key) -> dict:
    """{key(row): the row with the smallest Catoni bound}: a choice made from training error and bits alone."""
    best: dict = {}
    for row in rows:
        if key(row) not in best or row["catoni"] < best[key(row)]["catoni"]:
            best[key(row)] = row
    return best


def selected(rows: list[dict]) -> dict[str, dict]:
    """{task: its row with the smallest Catoni bound}."""
    return best_by(rows, lambda row: row["task"])


def best_per_d(rows: list[dict], task: str) -> list[dict]:
    """The task's row with the smallest Catoni bound at each (kind, d), in order of d."""
    best = best_by([row for row in rows if row["task"] == task], lambda row: (row["kind"], row["d"]))
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
    # few, short keys: `dvc metrics show` puts every metric file in one table (the rest is in the markdown)
    short = {"d": "d", "bits": "bits", "train_err": "train_error", "held_out_err": "held_out_error", "bound": "catoni"}
    files = {
        task: {name: round(row[key], 4) if isinstance(row[key], float) else row[key] for name, key in short.items()}
        for task, row in selected(rows).items()
    }
    write_json_files(directory, files)


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
