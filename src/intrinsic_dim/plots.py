"""Accuracy against d, with the baseline, the 90% line and d_int90 marked (the figure of Li et al. 2018)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def write_curve_csv(points: list[dict], path: Path) -> None:
    """One row per run, for `dvc plots show`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["d", "seed", "val_acc"])
        writer.writeheader()
        for point in sorted(points, key=lambda p: (p["d"], p["seed"])):
            writer.writerow({"d": point["d"], "seed": point["seed"], "val_acc": point["value"]})


def plot_accuracy_vs_d(curves: dict[str, list[dict]], summary: dict[str, dict], path: Path) -> None:
    tasks = list(curves)
    figure, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=True):
        facts = summary[task]
        points = sorted(curves[task], key=lambda p: p["d"])
        axis.scatter([p["d"] for p in points], [p["value"] for p in points], s=18, label=f"{facts['kind']} runs")
        axis.axhline(facts["baseline_val_acc"], color="gray", linestyle="--", label="full-space baseline")
        chosen = facts[facts["chosen_definition"]]
        axis.axhline(chosen["target"], color="tab:red", linestyle=":", label=f"{chosen['fraction']:.0%} threshold")
        if chosen["value"] is not None:
            axis.axvline(chosen["value"], color="tab:red", label=f"d_int90 = {chosen['value']:.0f}")
        axis.axvline(facts["paper_d_int90"], color="black", alpha=0.3, label=f"paper: {facts['paper_d_int90']}")
        axis.set(
            xscale="log",
            xlabel="subspace dimension d",
            ylabel="validation accuracy",
            title=f"{task} (D={facts['D']:,})",
        )
        axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
