"""d_int90 from measured runs: the smallest d whose metric reaches a target, per seed, then over seeds.

A target is either fixed (Li et al.'s MNIST numbers ask for 90% accuracy; the toy problem for a loss near 0)
or a fraction of the full-space baseline, optionally of its gain over a floor such as the majority-class rate.

The crossing of one seed's curve, which need not be monotone in d (a run is one noisy draw): the smallest
measured d that reaches the target, interpolated linearly in log d from the largest measured d below it (which
does not reach it). Points above the first that reaches never move it, whether they dip below the target or not,
as "the smallest d that reaches 90%" (Li et al.) asks. Over seeds: crossings differ by factors, so the estimate
is their geometric mean, with a 95% t-interval of the mean of log d (wide with three seeds: that is what three
seeds can tell).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from intrinsic_dim.errors import BadInput
from intrinsic_dim.study.search import bracket

MODES = ("max", "min")
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Threshold:
    """`target`; or `fraction` x the baseline (`of: baseline`); or, with `above: <floor>`, the floor plus that
    fraction of the baseline's gain over it (a score that a constant prediction already gets counts as 0). A study
    may give the floor as a metric its baseline runs measure (`above: val/majority`): their mean."""

    label: str
    target: float | None = None
    fraction: float | None = None
    above: float | None = None

    @classmethod
    def from_config(cls, name: str, spec: Mapping, mode: str) -> Threshold:
        fixed, relative = spec.get("target") is not None, spec.get("of") == "baseline"
        if mode not in MODES or fixed == relative or (relative and not 0 < spec.get("fraction", 0) <= 1):
            raise BadInput(
                f"threshold {name!r} must be {{target: <value>}} or {{of: baseline, fraction: <0..1>[, above: "
                f"<floor>]}} with mode max or min, got {dict(spec)} (mode {mode}); fix task.study.thresholds in "
                "conf/task"
            )
        if spec.get("above") is not None and mode != "max":
            raise BadInput(f"threshold {name!r}: `above` (a floor to gain over) needs mode max; fix task.study")
        return cls(spec.get("label", name), spec.get("target"), spec.get("fraction"), spec.get("above"))

    def value(self, baseline: float) -> float | None:
        """The target; None where the baseline does not beat the floor: it has no gain to keep a share of."""
        if self.target is not None:
            return self.target
        floor = self.above or 0.0
        if self.above is not None and baseline <= floor:
            return None
        return floor + self.fraction * (baseline - floor)


def reaches(mode: str, target: float) -> Callable[[float], bool]:
    """Whether a metric value reaches `target`: at least it for mode max, at most it for mode min.

    A metric measured in float32 (torchmetrics) that equals the target counts: 4,500 right of 5,000 is stored
    as float32(0.9) = 0.89999998, which must reach 90%.
    """
    rounded = float(np.float32(target))
    if mode == "max":
        lowest = min(target, rounded)
        return lambda value: value >= lowest
    highest = max(target, rounded)
    return lambda value: value <= highest


def crossing(values: Mapping[int, float], target: float, reached) -> float | None:
    """The d at which the curve first reaches `target` (the module's rule), linear in log d between the smallest
    measured d that reaches it and the largest measured d below that one.

    The smallest measured d if that already reaches it (an upper bound); None if no d does.
    """
    low, high = bracket(values, reached)
    if high is None:
        return None
    if low is None:
        return float(high)
    share = min(1.0, (target - values[low]) / (values[high] - values[low]))  # 1 where float32 rounding reached it
    return math.exp(math.log(low) + share * (math.log(high) - math.log(low)))


def over_seeds(crossings: list[float], confidence: float = CONFIDENCE) -> tuple[float, list[float] | None]:
    """The geometric mean of per-seed crossings and a t-interval of the mean of their logs; no interval for one
    seed: a single run's spread is unknown."""
    logs = np.log(crossings)
    centre = float(np.exp(logs.mean()))
    if len(logs) < 2:
        return centre, None
    half = stats.t.ppf((1 + confidence) / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return centre, [float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))]


def intrinsic_dimension(per_seed: Mapping[int, Mapping[int, float]], target: float, reached, precision: float) -> dict:
    """d_int from {seed: {d: value}}: one crossing per seed, their geometric mean and, with 2+ seeds, its interval.

    `refined` says whether every seed's crossing lies in a bracket of ratio <= precision (the search's
    bisection), rather than between coarse grid points only.
    """
    seeds = {}
    for seed, values in sorted(per_seed.items()):
        low, high = bracket(values, reached)
        seeds[seed] = {
            "d": crossing(values, target, reached),
            "bracket": [low, high],
            "refined": low is not None and high is not None and (high / low <= precision or high - low <= 1),
            "upper_bound": high is not None and low is None,
        }
    unreached = [seed for seed, facts in seeds.items() if facts["d"] is None]
    summary = {
        "target": target,
        "seeds": len(seeds),
        "per_seed": seeds,
        "reached": bool(seeds) and not unreached,
        "unreached_seeds": unreached,
        "refined": bool(seeds) and all(facts["refined"] for facts in seeds.values()),
        "upper_bound": any(facts["upper_bound"] for facts in seeds.values()),
        "confidence": CONFIDENCE,
    }
    if not summary["reached"]:
        return {**summary, "value": None, "interval": None}
    value, interval = over_seeds([facts["d"] for facts in seeds.values()])
    return {**summary, "value": value, "interval": interval}
