"""Metric against d per task and kind, with the baseline, each threshold and its d_int90 marked (Li et al. 2018)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

COLORS = ("tab:red", "tab:purple", "tab:green")
COLUMNS = 3


def plot_metric_vs_d(summary: dict, path: Path) -> None:
    panels = [(task, kind, facts) for task, kinds in summary.items() for kind, facts in kinds.items()]
    columns = min(COLUMNS, max(1, len(panels)))
    rows = max(1, -(-len(panels) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4 * rows), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis, (task, kind, facts) in zip(axes.flat, panels, strict=False):
        for seed, values in sorted(facts["curves"].items()):
            axis.plot(list(values), list(values.values()), marker="o", markersize=4, label=f"{kind}, seed {seed}")
        axis.axhline(facts["baseline"], color="gray", linestyle="--", label="full-space baseline")
        for color, estimate in zip(COLORS, facts["d_int"].values(), strict=False):
            axis.axhline(estimate["target"], color=color, linestyle=":", label=estimate["label"])
            if estimate["value"] is not None:
                axis.axvline(estimate["value"], color=color, label=f"d_int90 = {estimate['value']:,.0f}")
        if facts["paper"]:
            paper = facts["paper"]["d_int90"]
            axis.axvline(paper, color="black", alpha=0.3, label=f"paper: {paper:,}")
        axis.set(
            xscale="log",
            xlabel="subspace dimension d",
            ylabel=facts["metric"],
            title=f"{task}, {kind} (D={facts['D']:,})",
        )
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,g}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        if facts["mode"] == "min":  # a loss: 0 and the target both visible
            axis.set_yscale("symlog", linthresh=1e-6)
            axis.set_ylim(bottom=0)
        axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
