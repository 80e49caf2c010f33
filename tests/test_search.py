import math

import pytest
import torch

from intrinsic_dim.core.projections import PROJECTIONS
from intrinsic_dim.errors import BadInput
from intrinsic_dim.study.intrinsic import Threshold, crossing, intrinsic_dimension, reaches
from intrinsic_dim.study.report import show, threshold_estimate
from intrinsic_dim.study.search import bracket, expected_bisections, next_dimensions

GRID = [10, 100, 1000, 10_000, 100_000]


def log_linear(d: float, shift: float = 0.0) -> float:
    """Accuracy rising linearly in log10 d from 0 at d = 1 to 1 at d = 10^4, shifted by `shift` decades."""
    return min(1.0, max(0.0, (math.log10(d) - shift) / 4))


def search(curve, target, grid, min_d=1, max_d=200_000, precision=1.25, mode="max"):
    """Run next_dimensions to the end, as rounds of a study would; every d it asked for, in order."""
    values, asked = {}, []
    while proposed := next_dimensions(values, reaches(mode, target), grid, min_d, max_d, precision):
        assert not set(proposed) & set(values), "a d was proposed twice"
        asked += proposed
        values.update({d: curve(d) for d in proposed})
    return values, asked


def test_grid_then_bisection_brackets_the_answer_with_few_runs():
    values, asked = search(log_linear, 0.9, [100, 1000])
    low, high = bracket(values, reaches("max", 0.9))
    assert low < 10**3.6 <= high and high / low <= 1.25
    assert asked[:2] == [100, 1000] and len(asked) <= 12  # a grid at this resolution needs ~40 runs
    assert crossing(values, 0.9, reaches("max", 0.9)) == pytest.approx(10**3.6, rel=1e-9)  # exact on a log-linear curve


def test_a_grid_that_misses_widens_by_four_instead_of_trying_the_next_integer():
    values, asked = search(log_linear, 0.9, [100, 300, 1000, 3000])
    assert asked[4] == 12_000  # not 3001
    low, high = bracket(values, reaches("max", 0.9))
    assert low < 10**3.6 <= high


def test_a_grid_that_is_too_high_widens_down_to_the_minimum_d():
    values, asked = search(lambda d: 1.0 if d >= 3 else 0.0, 0.9, [100, 1000], min_d=2)
    assert asked[2:4] == [25, 6] and min(asked) == 2  # widened by 4, never below the kind's minimum
    assert bracket(values, reaches("max", 0.9)) == (2, 3)
    done, _ = search(lambda d: 1.0, 0.9, [100], min_d=7)
    assert min(done) == 7 and bracket(done, reaches("max", 0.9)) == (None, 7)  # reached at min_d: an upper bound


def test_an_unreachable_target_stops_at_D():
    values, asked = search(lambda d: 0.5, 0.9, [10, 100], max_d=1000)
    assert max(asked) == 1000 and bracket(values, reaches("max", 0.9)) == (1000, None)


def test_min_mode_finds_a_loss_threshold():
    values, _ = search(lambda d: 100.0 if d < 10 else 0.0, 1e-6, [3, 30], precision=1.1, mode="min")
    assert bracket(values, reaches("min", 1e-6)) == (9, 10)
    assert crossing(values, 1e-6, reaches("min", 1e-6)) == pytest.approx(10, rel=1e-6)


def test_said_minimum_is_above_the_tensor_count():
    assert PROJECTIONS["said"].min_dimension(6) == 7
    assert PROJECTIONS["fastfood"].min_dimension(6) == 1


def test_expected_bisections_is_zero_when_done():
    values, asked = search(log_linear, 0.9, [100, 1000])
    assert expected_bisections(values, reaches("max", 0.9), [100, 1000], 1.25) == 0
    assert expected_bisections({}, reaches("max", 0.9), [100, 1000], 1.25) == len(asked) - 2


def test_d_int_per_seed_mean_interval_and_what_it_rests_on():
    shifts = {0: 0.0, 1: 0.1, 2: 0.2}
    per_seed = {seed: {d: log_linear(d, shift) for d in GRID} for seed, shift in shifts.items()}
    result = intrinsic_dimension(per_seed, 0.9, reaches("max", 0.9), precision=1.25)
    crossings = [10 ** (3.6 + shift) for shift in shifts.values()]
    assert result["value"] == pytest.approx(sum(crossings) / 3) and result["seeds"] == 3
    low, high = result["interval"]
    assert min(crossings) * (1 - 1e-9) <= low < result["value"] < high <= max(crossings) * (1 + 1e-9)
    assert result["refined"] is False  # a grid of factors of 10 is not a bisection to 1.25
    one_seed = intrinsic_dimension({0: per_seed[0]}, 0.9, reaches("max", 0.9), precision=10.0)
    assert one_seed["interval"] is None and one_seed["seeds"] == 1  # one seed is not an interval
    assert one_seed["refined"] is True  # the bracket [10^3, 10^4] is within a precision of 10


def test_unreached_target_gives_no_value():
    result = intrinsic_dimension({0: {d: log_linear(d, 2.0) for d in GRID}}, 0.99, reaches("max", 0.99), 1.25)
    assert result["reached"] is False and result["value"] is None


def test_thresholds_fixed_and_relative():
    fixed = Threshold.from_config("absolute", {"target": 0.9}, "max")
    relative = Threshold.from_config("relative", {"of": "baseline", "fraction": 0.9}, "max")
    assert fixed.value(baseline=0.8) == 0.9 and relative.value(baseline=0.8) == pytest.approx(0.72)
    gain = Threshold.from_config("gain", {"of": "baseline", "fraction": 0.9, "above": 0.68}, "max")
    assert gain.value(baseline=0.8) == pytest.approx(0.68 + 0.9 * 0.12)  # 90% of the way from the floor
    # a baseline that does not beat the floor has no gain to keep a share of: no target, and the report says why
    assert gain.value(baseline=0.68) is None and gain.value(baseline=0.6765) is None
    with pytest.raises(BadInput, match="needs mode max"):
        Threshold.from_config("gain", {"of": "baseline", "fraction": 0.9, "above": 0.68}, "min")
    undefined = {"label": "gain", "target": None, "undefined": "the baseline 0.6765 is not above 0.68"}
    estimate = threshold_estimate(undefined, {0: {300: 0.6838}}, {"mode": "max", "precision": 10.0})
    assert estimate["value"] is None and show(estimate) == "undefined (the baseline 0.6765 is not above 0.68)"
    for spec in ({"target": 0.9, "of": "baseline", "fraction": 0.9}, {"of": "baseline", "fraction": 1.5}, {}):
        with pytest.raises(BadInput, match="fix task.study.thresholds"):
            Threshold.from_config("bad", spec, "max")


def test_a_float32_metric_equal_to_the_target_reaches_it():
    """4,500 right of 5,000 in float32 is 0.89999998: it reaches 90%; one example fewer does not."""
    right = torch.tensor(4500.0) / torch.tensor(5000.0)
    assert right.item() < 0.9 and reaches("max", 0.9)(right.item())
    assert not reaches("max", 0.9)((torch.tensor(4499.0) / 5000).item())
    assert reaches("min", 1e-6)(torch.tensor(1e-6).item()) and not reaches("min", 1e-6)(2e-6)
    assert reaches("max", 0.5)(0.5) and not reaches("max", 0.5)(0.4999999)  # exact in float32: no slack
