"""Adaptive search for d_int: bisection on log d instead of a full grid, resumable from finished runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from intrinsic_dim.intrinsic import crossing


def search_intrinsic_dimension(
    evaluate: Callable[[int], float],
    target: float,
    low: int,
    high: int,
    max_d: int,
    precision: float = 1.25,
    finished: Mapping[int, float] | None = None,
) -> dict:
    """Smallest d whose metric reaches `target`, to within a factor `precision`.

    `evaluate(d)` trains one run and returns its metric; `finished` holds metrics of runs already done,
    which are reused instead of trained again. The bracket [low, high] is checked first (low must miss the
    target, high must reach it) and widened by factors of 4 within [1, max_d] when it does not.
    """
    if not 1 <= low < high <= max_d:
        raise ValueError(f"need 1 <= low < high <= max_d, got low={low}, high={high}, max_d={max_d}")
    if precision <= 1:
        raise ValueError(f"precision is a ratio above 1, got {precision}")
    values = dict(finished or {})

    def value(d: int) -> float:
        if d not in values:
            values[d] = evaluate(d)
        return values[d]

    while value(low) >= target and low > 1:
        high, low = low, max(1, low // 4)
    if value(low) >= target:  # reached at d = 1
        return {"value": 1.0, "low": 1, "high": 1, "runs": values, "reached": True}
    while value(high) < target:
        if high == max_d:
            return {"value": None, "low": low, "high": high, "runs": values, "reached": False}
        low, high = high, min(max_d, high * 4)
    while high / low > precision and high - low > 1:
        middle = min(high - 1, max(low + 1, round(math.sqrt(low * high))))
        if value(middle) >= target:
            high = middle
        else:
            low = middle
    estimate = crossing([low, high], [values[low], values[high]], target)
    return {"value": estimate, "low": low, "high": high, "runs": values, "reached": True}
