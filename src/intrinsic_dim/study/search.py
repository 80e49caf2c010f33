"""Where to train next: the coarse grid, then bisection on log d around the first d that reaches a target.

A later seed of the same task and kind skips the grid and the bisection: once the first seed's search has ended, it
starts at the ends of the first seed's final bracket (`starting_points`), since seeds' crossings differ by little.
Its crossing is mostly inside (two runs) or next to it, where the same search widens from there by the span of what
it measured (so by little first) and bisects its own bracket to the same precision.

Pure functions of the values measured so far, so a study resumes from its stored runs and plans every
(task, kind, seed) search of a round at once. No d is ever proposed twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

WIDEN = 4  # the largest factor by which a search that has not bracketed its crossing widens, up or down


def bracket(values: Mapping[int, float], reached: Callable[[float], bool]) -> tuple[int | None, int | None]:
    """(low, high): the first d that reaches the target and the largest d below it; None where there is none."""
    hits = [d for d, value in values.items() if reached(value)]
    if not hits:
        return (max(values) if values else None), None
    high = min(hits)
    return max((d for d in values if d < high), default=None), high


def next_dimensions(
    values: Mapping[int, float],
    reached: Callable[[float], bool],
    grid: Sequence[int],
    min_d: int,
    max_d: int,
    precision: float,
) -> list[int]:
    """The d values to train next for one target; [] once the search is done.

    Done means: the bracket [low, high] around the crossing has high / low <= precision or no integer inside;
    or the target is reached at min_d (an upper bound); or it is not reached even at max_d = D.
    """
    missing = [d for d in grid if d not in values]
    if missing:
        return missing
    low, high = bracket(values, reached)
    widen = min(WIDEN, max(precision, max(values) / min(values)))  # galloping: each step at least doubles the span
    if high is None:  # not reached yet: widen upwards, up to D
        top = low if low is not None else min_d
        return [min(max_d, max(top + 1, round(top * widen)))] if top < max_d else []
    if low is None:  # reached at the smallest d tried: widen downwards, down to the kind's minimum
        return [max(min_d, min(high - 1, round(high / widen)))] if high > min_d else []
    if high / low <= precision or high - low <= 1:
        return []
    return [min(high - 1, max(low + 1, round(math.sqrt(low * high))))]


def starting_points(first: Mapping[int, float], targets: Sequence[Callable[[float], bool]]) -> list[int]:
    """Where a later seed's search starts, once the first seed's search has ended: the ends of the first seed's final
    bracket of each target (one end where it reached the target at its smallest d, or not even at its largest)."""
    return sorted({d for reached in targets for d in bracket(first, reached) if d is not None})


def expected_bisections(
    values: Mapping[int, float], reached: Callable[[float], bool], grid: Sequence[int], precision: float
) -> int:
    """A rough count of the runs this search needs after its grid, for the time estimate."""
    if any(d not in values for d in grid):  # before the grid is in: assume the crossing in its widest gap
        steps = sorted(grid)
        return _bisections(max((b / a for a, b in zip(steps, steps[1:], strict=False)), default=WIDEN), precision)
    low, high = bracket(values, reached)
    if low is None or high is None:
        return 1 + _bisections(WIDEN, precision)
    return _bisections(high / low, precision)


def _bisections(ratio: float, precision: float) -> int:
    if ratio <= precision:
        return 0
    return math.ceil(math.log2(math.log(ratio) / math.log(precision)))
