"""Figures in the style of Li et al. 2018: the metric against d per task (every projection kind on one axis,
baseline and thresholds marked), d_int90 against D for a family of nets of different sizes, and two tasks
that differ in one respect (pretrained or not) on one axis."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

from intrinsic_dim.formatting import dimension_text  # noqa: E402

KIND_COLORS = {"fastfood": "tab:blue", "sparse": "tab:orange", "dense": "tab:green", "said": "tab:brown"}
THRESHOLD_COLORS = ("tab:red", "tab:purple", "tab:pink")
SEED_STYLES = ("-", "--", ":", "-.")
KIND_MARKERS = {"fastfood": "o", "sparse": "s", "dense": "^", "said": "D"}
COLUMNS = 3


def comma_ticks(axis) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def plot_task(axis, task: str, kinds: dict) -> None:
    """One task: a curve per kind and seed (a later seed's is short: its search starts near the first seed's
    crossing), the baseline, each threshold, and each kind's d_int90 with its interval over seeds shaded."""
    first = next(iter(kinds.values()))
    for kind, facts in kinds.items():
        color = KIND_COLORS.get(kind)
        for index, (seed, values) in enumerate(sorted(facts["curves"].items())):
            axis.plot(list(values), list(values.values()), marker="o", markersize=3, color=color,
                      linestyle=SEED_STYLES[index % len(SEED_STYLES)], label=f"{kind}, seed {seed}")  # fmt: skip
        headline = facts["d_int"][facts["headline"]]
        if headline["value"] is not None:
            label = f"{kind}: d_int90 = {dimension_text(headline['value'])}"
            axis.axvline(headline["value"], color=color, alpha=0.6, label=label)
        if headline.get("interval"):
            axis.axvspan(*headline["interval"], color=color, alpha=0.12)
    axis.axhline(first["baseline"], color="gray", linestyle="--", label="full-space baseline")
    if first.get("chance"):
        axis.axhline(first["chance"]["value"], color="black", linestyle="-.", label=first["chance"]["label"])
    for color, estimate in zip(THRESHOLD_COLORS, first["d_int"].values(), strict=False):
        if estimate["target"] is not None:
            axis.axhline(estimate["target"], color=color, linestyle=":", label=estimate["label"])
    papers = {kind: facts["paper"]["d_int90"] for kind, facts in kinds.items() if facts["paper"]}
    shared = len(set(papers.values())) == 1  # one value for every kind: one line
    for kind, paper in list(papers.items())[: 1 if shared else None]:
        color, label = (
            ("black", f"paper: {paper:,}") if shared else (KIND_COLORS.get(kind), f"paper ({kind}): {paper:,}")
        )
        axis.axvline(paper, color=color, alpha=0.3, linewidth=3, label=label)
    axis.set(xscale="log", xlabel="subspace dimension d", ylabel=first["metric"], title=f"{task} (D={first['D']:,})")
    comma_ticks(axis.xaxis)
    if first["mode"] == "min":  # a loss: 0 and the target both visible
        axis.set_yscale("symlog", linthresh=1e-6)
        axis.set_ylim(bottom=0)
    axis.legend(fontsize=7, loc="best")


def save(figure, path: Path) -> None:
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_metric_vs_d(summary: dict, path: Path) -> None:
    """Every task of a study in one figure, a panel each."""
    columns = min(COLUMNS, max(1, len(summary)))
    rows = max(1, -(-len(summary) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4 * rows), squeeze=False)
    for axis in axes.flat[len(summary) :]:
        axis.set_visible(False)
    for axis, (task, kinds) in zip(axes.flat, summary.items(), strict=False):
        plot_task(axis, task, kinds)
    save(figure, path)


def plot_task_figures(summary: dict, directory: Path) -> None:
    """One figure per task: <directory>/<task>.png."""
    for task, kinds in summary.items():
        figure, axis = plt.subplots(figsize=(6.5, 4.5))
        plot_task(axis, task, kinds)
        save(figure, directory / f"{task}.png")


def plot_size_family(group: str, members: dict, path: Path) -> None:
    """d_int90 against D for the nets of one family ({task: {kind: facts}}), log-log, as Li et al.'s Fig. 3."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    kinds = sorted({kind for facts in members.values() for kind in facts})
    for kind in kinds:
        points = sorted(
            (facts[kind]["D"], facts[kind]["d_int"][facts[kind]["headline"]]["value"], task)
            for task, facts in members.items()
            if kind in facts and facts[kind]["d_int"][facts[kind]["headline"]]["value"] is not None
        )
        axis.plot([D for D, _, _ in points], [d for _, d, _ in points], "o", color=KIND_COLORS.get(kind),
                  label=f"{kind}: d_int90")  # fmt: skip
        for facts in (members[task][kind] for task in members if kind in members[task]):
            interval = facts["d_int"][facts["headline"]].get("interval")
            if interval:  # the 95% interval over seeds
                axis.plot([facts["D"]] * 2, interval, color=KIND_COLORS.get(kind), alpha=0.5)
        for D, d, task in points:
            axis.annotate(task, (D, d), fontsize=7, xytext=(3, 3), textcoords="offset points")
    axis.set(xlabel="number of parameters D", ylabel="d_int90", title=f"{group}: d_int90 against D")
    found = [d for line in axis.get_lines() for d in line.get_ydata()]
    if found:  # both axes log, over the same factor: a flat row of points means d_int90 varies far less than D
        axis.set(xscale="log", yscale="log")
        x_low, x_high = axis.get_xlim()
        middle = (min(found) * max(found)) ** 0.5
        axis.set_ylim(middle / (x_high / x_low) ** 0.5, middle * (x_high / x_low) ** 0.5)
        comma_ticks(axis.xaxis)
        comma_ticks(axis.yaxis)
        axis.legend(fontsize=8, loc="best")
    else:
        axis.text(0.5, 0.5, "no net reached its threshold", ha="center", transform=axis.transAxes)
    save(figure, path)


def found(headline: dict) -> str:
    if headline["value"] is not None:
        return f"d_int90 {dimension_text(headline['value'])}"
    return "no d_int90: the baseline does not beat chance" if headline.get("undefined") else "not reached"


def plot_comparison(summary: dict, tasks: tuple[str, str], path: Path) -> None:
    """Two tasks on one axis, a colour each: every kind's curve per seed, each baseline, each headline d_int90
    (or why there is none), and the chance level they share."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for color, task in zip(("tab:blue", "tab:red"), tasks, strict=True):
        kinds = summary[task]
        for kind, facts in kinds.items():
            headline = facts["d_int"][facts["headline"]]
            for index, (_, values) in enumerate(sorted(facts["curves"].items())):
                axis.plot(list(values), list(values.values()), marker=KIND_MARKERS.get(kind, "o"), markersize=4,
                          color=color, linestyle=SEED_STYLES[index % len(SEED_STYLES)],
                          label=f"{task}, {kind} ({found(headline)})" if index == 0 else None)  # fmt: skip
            if headline["value"] is not None:
                axis.axvline(headline["value"], color=color, alpha=0.4)
        first = next(iter(kinds.values()))
        axis.axhline(first["baseline"], color=color, linestyle="--", label=f"{task}: full space")
    first = next(iter(summary[tasks[0]].values()))
    if first.get("chance"):
        axis.axhline(first["chance"]["value"], color="black", linestyle="-.", label=first["chance"]["label"])
    axis.set(xscale="log", xlabel="subspace dimension d", ylabel=first["metric"], title=" against ".join(tasks))
    comma_ticks(axis.xaxis)
    axis.legend(fontsize=7, loc="best")
    save(figure, path)
