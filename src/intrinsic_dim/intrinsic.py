"""d_int90 from measured runs: the smallest d whose metric reaches a fraction of a reference.

Li et al. 2018 use two references: a fixed one (their MNIST numbers ask for 90% accuracy, i.e. 90% of 1.0)
and the measured full-space baseline. Between grid points the metric is interpolated linearly in log d.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from intrinsic_dim.errors import BadInput

DEFINITIONS = ("absolute", "relative")


@dataclass(frozen=True)
class Threshold:
    """`fraction` of 1.0 ("absolute") or of the full-space baseline ("relative")."""

    definition: str = "absolute"
    fraction: float = 0.9

    def __post_init__(self) -> None:
        if self.definition not in DEFINITIONS:
            raise BadInput(f"unknown threshold definition {self.definition!r}; choose one of {DEFINITIONS}")
        if not 0 < self.fraction <= 1:
            raise BadInput(f"threshold fraction must be in (0, 1], got {self.fraction}")

    def target(self, baseline: float) -> float:
        return self.fraction * (1.0 if self.definition == "absolute" else baseline)


def crossing(dims: Sequence[float], values: Sequence[float], target: float) -> float | None:
    """Smallest d at which the curve first reaches `target`, linear in log d between points.

    Returns the smallest measured d if it already reaches the target (an upper bound), None if no point does.
    """
    points = sorted(zip(dims, values, strict=True))
    if not points:
        return None
    if points[0][1] >= target:
        return float(points[0][0])
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if v1 >= target:
            share = (target - v0) / (v1 - v0)
            return math.exp(math.log(d0) + share * (math.log(d1) - math.log(d0)))
    return None


def intrinsic_dimension(
    runs: Iterable[dict], baseline: float, threshold: Threshold, resamples: int = 2000, seed: int = 0
) -> dict:
    """d_int from runs [{"d", "seed", "value"}]: one crossing per seed, their mean and a bootstrap interval.

    The interval is the 2.5-97.5 percentile range of the mean over seeds resampled with replacement.
    If any seed never reaches the target, the value is None and `reached` is False.
    """
    by_seed: dict[int, list[tuple[float, float]]] = {}
    for run in runs:
        by_seed.setdefault(int(run["seed"]), []).append((float(run["d"]), float(run["value"])))
    if not by_seed:
        raise BadInput("no runs to compute an intrinsic dimension from; run the sweep first")
    target = threshold.target(baseline)
    per_seed = {seed_: crossing(*zip(*points, strict=True), target) for seed_, points in sorted(by_seed.items())}
    summary = {
        "definition": threshold.definition,
        "fraction": threshold.fraction,
        "baseline": baseline,
        "target": target,
        "per_seed": per_seed,
        "reached": all(value is not None for value in per_seed.values()),
        "upper_bound": any(value == min(d for d, _ in by_seed[s]) for s, value in per_seed.items()),
    }
    if not summary["reached"]:
        return {**summary, "value": None, "interval": None}
    estimates = np.array(list(per_seed.values()))
    rng = np.random.default_rng(seed)
    means = rng.choice(estimates, size=(resamples, estimates.size), replace=True).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {**summary, "value": float(estimates.mean()), "interval": [float(low), float(high)]}


def markdown_summary(tasks: dict[str, dict], tolerance: float = 0.3) -> str:
    """A table of d_int by both thresholds beside the paper's value (which uses the absolute threshold)."""

    def show(estimate: dict) -> str:
        if estimate["value"] is None:
            return "not reached"
        low, high = estimate["interval"]
        bound = " (upper bound)" if estimate["upper_bound"] else ""
        return f"{estimate['value']:.0f} [{low:.0f}, {high:.0f}]{bound}"

    lines = [
        "| task | D | baseline val acc | d_int90, 90% of 1.0 | d_int90, 90% of baseline | paper | within 30% |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, facts in tasks.items():
        value, paper = facts["absolute"]["value"], facts["paper_d_int90"]
        close = "yes" if value is not None and abs(value - paper) <= tolerance * paper else "no"
        lines.append(
            f"| {task} | {facts['D']:,} | {facts['baseline_val_acc']:.4f} | {show(facts['absolute'])} "
            f"| {show(facts['relative'])} | {paper} | {close} |"
        )
    return "\n".join(lines) + "\n"
