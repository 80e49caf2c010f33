import math

import pytest

from intrinsic_dim.intrinsic import Threshold, crossing, intrinsic_dimension
from intrinsic_dim.search import search_intrinsic_dimension

GRID = [10, 100, 1000, 10_000, 100_000]


def log_linear(d: float, shift: float = 0.0) -> float:
    """Accuracy rising linearly in log10 d from 0 at d = 1 to 1 at d = 10^4, shifted by `shift` decades."""
    return min(1.0, max(0.0, (math.log10(d) - shift) / 4))


def runs_for(seeds_and_shifts):
    return [{"d": d, "seed": seed, "value": log_linear(d, shift)} for seed, shift in seeds_and_shifts for d in GRID]


def test_crossing_interpolates_in_log_d():
    # 0.9 is reached at log10 d = 3.6, between the grid points 10^3 (0.75) and 10^4 (1.0)
    assert crossing(GRID, [log_linear(d) for d in GRID], 0.9) == pytest.approx(10**3.6)


def test_crossing_edges():
    assert crossing([10, 100], [0.95, 0.99], 0.9) == 10  # reached at the first point: an upper bound
    assert crossing([10, 100], [0.1, 0.2], 0.9) is None
    assert crossing([100, 10], [0.99, 0.1], 0.9) == pytest.approx(10 ** (1 + 0.8 / 0.89))  # grid order is irrelevant


def test_absolute_and_relative_definitions():
    runs = runs_for([(0, 0.0)])
    absolute = intrinsic_dimension(runs, baseline=0.8, threshold=Threshold("absolute"))
    relative = intrinsic_dimension(runs, baseline=0.8, threshold=Threshold("relative"))
    assert absolute["target"] == pytest.approx(0.9) and absolute["value"] == pytest.approx(10**3.6)
    assert relative["target"] == pytest.approx(0.72) and relative["value"] == pytest.approx(10**2.88)


def test_mean_and_bootstrap_interval_over_seeds():
    shifts = [(0, 0.0), (1, 0.1), (2, 0.2)]  # crossings stay between unclamped grid points
    result = intrinsic_dimension(runs_for(shifts), baseline=1.0, threshold=Threshold("absolute"))
    per_seed = [10 ** (3.6 + shift) for _, shift in shifts]
    assert result["value"] == pytest.approx(sum(per_seed) / 3)
    low, high = result["interval"]
    assert min(per_seed) * (1 - 1e-9) <= low < result["value"] < high <= max(per_seed) * (1 + 1e-9)
    identical = intrinsic_dimension(runs_for([(0, 0.0), (1, 0.0)]), baseline=1.0, threshold=Threshold())
    assert identical["interval"] == pytest.approx([10**3.6, 10**3.6])


def test_unreached_target_gives_no_value():
    result = intrinsic_dimension(runs_for([(0, 2.0)]), baseline=1.0, threshold=Threshold(fraction=0.99))
    assert result["reached"] is False and result["value"] is None


@pytest.mark.parametrize(
    ("definition", "fraction", "message"), [("median", 0.9, "unknown threshold"), ("relative", 1.5, "fraction")]
)
def test_bad_threshold(definition, fraction, message):
    with pytest.raises(ValueError, match=message):
        Threshold(definition, fraction)


def test_search_finds_the_answer_with_few_runs_and_resumes():
    calls = []

    def evaluate(d):
        calls.append(d)
        return log_linear(d)

    result = search_intrinsic_dimension(evaluate, target=0.9, low=100, high=1000, max_d=200_000)
    true_answer = 10**3.6
    assert result["reached"] and result["low"] < true_answer <= result["high"]
    assert result["high"] / result["low"] <= 1.25
    assert result["value"] == pytest.approx(true_answer, rel=0.01)  # log-linear curve: interpolation is exact
    assert len(calls) <= 12 and len(set(calls)) == len(calls)  # a grid at this resolution needs ~40 runs

    resumed_calls = []
    again = search_intrinsic_dimension(
        lambda d: resumed_calls.append(d) or log_linear(d), 0.9, 100, 1000, 200_000, finished=result["runs"]
    )
    assert resumed_calls == [] and again["value"] == result["value"]


def test_search_widens_a_wrong_bracket_and_reports_unreachable_targets():
    result = search_intrinsic_dimension(log_linear, target=0.9, low=5000, high=8000, max_d=200_000)
    assert result["low"] < 10**3.6 <= result["high"]
    unreachable = search_intrinsic_dimension(lambda d: 0.5, target=0.9, low=10, high=100, max_d=1000)
    assert unreachable["reached"] is False and unreachable["value"] is None
