import math
import random

import pytest
import torch

from intrinsic_dim.core.projections import PROJECTIONS
from intrinsic_dim.errors import BadInput
from intrinsic_dim.formatting import dimension_text
from intrinsic_dim.study.coordinator import Search
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


def test_d_int_over_seeds_is_the_geometric_mean_with_a_t_interval_on_log_d():
    """Crossings 800, 1,000 and 1,250 (each halfway in log d between d/2 at 0.8 and 2d at 1.0). By hand: the mean
    of ln d is ln 1,000; the standard deviation ln 1.25 = 0.22314; t(0.975, 2 df) = 4.3027; the half-width
    4.3027 x 0.22314 / sqrt(3) = 0.55431; the interval 1,000 x exp(-+0.55431) = [574.46, 1,740.76]."""
    per_seed = {seed: {crossing_at // 2: 0.8, 2 * crossing_at: 1.0}
                for seed, crossing_at in enumerate((800, 1000, 1250))}  # fmt: skip
    result = intrinsic_dimension(per_seed, 0.9, reaches("max", 0.9), precision=1.25)
    assert [facts["d"] for facts in result["per_seed"].values()] == pytest.approx([800, 1000, 1250])
    assert result["value"] == pytest.approx(1000) and result["seeds"] == 3 and result["confidence"] == 0.95
    assert result["interval"] == pytest.approx([574.46, 1740.76], rel=1e-5)
    assert result["refined"] is False  # brackets of ratio 4 are not a bisection to 1.25
    one_seed = intrinsic_dimension({0: per_seed[0]}, 0.9, reaches("max", 0.9), precision=4.0)
    assert one_seed["value"] == pytest.approx(800) and one_seed["interval"] is None  # one seed is not an interval
    assert one_seed["refined"] is True and show({**one_seed, "label": "90%"}) == "800 (1 seed, bisection)"
    assert show({**result, "label": "90%"}) == "1,000 [574, 1,741] (95%, 3 seeds, grid only)"


def test_small_dimensions_keep_two_significant_digits_so_a_wide_interval_never_shows_zero():
    """CartPole-like crossings 1.88, 7.41 and 21.85. By hand: the mean of ln d is 1.9061 (d = 6.727), the standard
    deviation 1.2293, the half-width 4.3027 x 1.2293 / sqrt(3) = 3.0537: the interval [0.3174, 142.6] reaches
    below d = 1."""
    crossings = (1.88, 7.41, 21.85)
    per_seed = {seed: {crossing_at / 2: 0.8, 2 * crossing_at: 1.0} for seed, crossing_at in enumerate(crossings)}
    result = intrinsic_dimension(per_seed, 0.9, reaches("max", 0.9), precision=4.0)
    assert result["value"] == pytest.approx(6.727, rel=1e-3)
    assert result["interval"] == pytest.approx([0.3174, 142.6], rel=1e-3)
    assert show({**result, "label": "90%"}) == "6.7 [0.32, 143] (95%, 3 seeds, bisection)"
    assert [dimension_text(d) for d in (0.318, 9.96, 10.4, 12552.4)] == ["0.32", "10", "10", "12,552"]


def test_a_crossing_on_a_curve_that_is_not_monotone_is_the_first_d_that_reaches_the_target():
    # reaches at 200, dips below at 400, reaches again at 800: the first reach counts, from the point below it
    dipping = {100: 0.5, 200: 0.92, 400: 0.85, 800: 0.95}
    assert crossing(dipping, 0.9, reaches("max", 0.9)) == pytest.approx(100 * 2 ** (0.4 / 0.42))  # 193.5
    # noise below the target (CIFAR-10 LeNet, seed 0): 55.6% at 4,054, 54.6% at 4,712, 58.5% at 5,477 for 56.1%;
    # the crossing is read between 4,712 and 5,477, the pair around the first d that reaches it
    noisy = {4054: 0.556, 4712: 0.546, 5477: 0.585}
    assert crossing(noisy, 0.561, reaches("max", 0.561)) == pytest.approx(4712 * (5477 / 4712) ** (0.015 / 0.039))
    assert bracket(noisy, reaches("max", 0.561)) == (4712, 5477)


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


def test_a_threshold_rests_on_the_seeds_that_searched_it():
    """Later seeds search only the headline: their few runs near its crossing (all above 80% here) would make
    another threshold's crossing an upper bound at their smallest d, so that threshold rests on seed 0 alone."""
    per_seed = {0: {d: log_linear(d) for d in (100, 300, 1000, 3000)}, 1: {4200: 0.91, 5300: 0.93}}
    facts = {"mode": "max", "precision": 1.25}
    lower = threshold_estimate({"label": "80%", "target": 0.8, "seeds": [0]}, per_seed, facts)
    assert lower["seeds"] == 1 and lower["interval"] is None and not lower["upper_bound"]
    assert lower["value"] == pytest.approx(crossing(per_seed[0], 0.8, reaches("max", 0.8)))
    every = threshold_estimate({"label": "80%", "target": 0.8}, per_seed, facts)  # a manifest from before: all seeds
    assert every["seeds"] == 2 and every["upper_bound"] and every["per_seed"][1]["d"] == 4200


def test_a_float32_metric_equal_to_the_target_reaches_it():
    """4,500 right of 5,000 in float32 is 0.89999998: it reaches 90%; one example fewer does not."""
    right = torch.tensor(4500.0) / torch.tensor(5000.0)
    assert right.item() < 0.9 and reaches("max", 0.9)(right.item())
    assert not reaches("max", 0.9)((torch.tensor(4499.0) / 5000).item())
    assert reaches("min", 1e-6)(torch.tensor(1e-6).item()) and not reaches("min", 1e-6)(2e-6)
    assert reaches("max", 0.5)(0.5) and not reaches("max", 0.5)(0.4999999)  # exact in float32: no slack


def seeded_searches(grid, precision=1.25, min_d=1, max_d=200_000, seeds=(0, 1, 2), target=0.9):
    first, searches = None, []
    for seed in seeds:
        searches.append(Search("task", "fastfood", seed, grid, min_d, max_d, precision, [reaches("max", target)],
                               ("task=task",), first))  # fmt: skip
        first = first or searches[0]
    return searches


def run_rounds(searches, curves) -> list[dict]:
    """Rounds as the study plans them: every search's next d values at once; what each round asked per seed."""
    rounds = []
    while planned := {search: dims for search in searches if (dims := search.next_dimensions())}:
        for search, dims in planned.items():
            assert not set(dims) & set(search.values), "a d was proposed twice"
            search.values.update({d: curves[search.seed](d) for d in dims})
        rounds.append({search.seed: dims for search, dims in planned.items()})
    return rounds


def test_later_seeds_skip_grid_and_bisection_and_start_at_the_first_seeds_final_bracket():
    """Grid [100, 300, 1,000, 3,000]; seed 0 crosses at 3,000 (the grid's bracket [1,000, 3,000], then 1,732, 2,279
    and 2,615), seeds 1 and 2 at 2,700 and 2,950: inside seed 0's final bracket, two runs each, in one round more."""
    crossings = {0: 3000, 1: 2700, 2: 2950}
    curves = {seed: (lambda d, at=at: log_linear(d, math.log10(at) - 3.6)) for seed, at in crossings.items()}
    alone = run_rounds(seeded_searches([100, 300, 1000, 3000], seeds=(0,)), curves)
    searches = seeded_searches([100, 300, 1000, 3000])
    rounds = run_rounds(searches, curves)
    assert rounds[:-1] == alone and rounds[-1] == {1: [2615, 3000], 2: [2615, 3000]}
    estimate = intrinsic_dimension({s.seed: s.values for s in searches}, 0.9, reaches("max", 0.9), 1.25)
    assert estimate["refined"] and [facts["d"] for facts in estimate["per_seed"].values()] == pytest.approx(
        list(crossings.values()), rel=1e-9)  # fmt: skip


def test_a_later_seed_with_no_target_to_chase_trains_nothing():
    first = Search("task", "fastfood", 0, [100, 300], 1, 1000, 1.25, [], ("task=task",))
    later = Search("task", "fastfood", 1, [100, 300], 1, 1000, 1.25, [], ("task=task",), first)
    assert first.next_dimensions() == [100, 300]  # the first seed still draws its curve
    assert later.next_dimensions() == [] and later.expected_runs() == 0


def test_a_later_seed_outside_the_first_seeds_bracket_widens_from_it_by_little():
    curves = {seed: (lambda d, at=at: log_linear(d, math.log10(at) - 3.6)) for seed, at in {0: 9000, 1: 7000}.items()}
    searches = seeded_searches([100, 300, 1000, 3000], seeds=(0, 1))
    rounds = run_rounds(searches, curves)
    low, high = bracket(searches[0].values, reaches("max", 0.9))  # seed 0 widens to 12,000, then bisects
    first_done = max(index for index, planned in enumerate(rounds) if 0 in planned)
    assert all(1 not in planned for planned in rounds[: first_done + 1]) and rounds[first_done + 1] == {1: [low, high]}
    assert rounds[first_done + 2 :] == [{1: [round(low / 1.25)]}]  # both reached: down by the precision, at least
    later_low, later_high = bracket(searches[1].values, reaches("max", 0.9))
    assert later_low < 7000 <= later_high == low and later_high / later_low <= 1.25


def noisy_curve(crossing_at: float, noise: float, rng: random.Random):
    """log_linear through the target 0.9 at `crossing_at`, plus a fixed random wobble per d (not monotone)."""
    wobble: dict[int, float] = {}
    return lambda d: log_linear(d, math.log10(crossing_at) - 3.6) + wobble.setdefault(d, rng.uniform(-noise, noise))


@pytest.mark.parametrize("noise", [0.0, 0.03])
def test_the_cross_seed_search_never_skips_a_d_its_own_seed_needs_to_meet_the_precision(noise):
    """Seeds whose crossings differ by up to 20x, on smooth and on noisy (non-monotone) curves: every seed ends
    with its own bracket - the largest measured d below its first reach does not reach, the bracket's ratio is
    within the precision - or at the limits of d; on smooth curves the bracket holds the true crossing."""
    rng = random.Random(7)
    for _ in range(40):
        centre = 10 ** rng.uniform(1.5, 4.5)
        crossings = {seed: centre * 10 ** rng.uniform(-0.65, 0.65) for seed in range(3)}
        curves = {seed: noisy_curve(at, noise, rng) for seed, at in crossings.items()}
        searches = seeded_searches([100, 300, 1000, 3000], min_d=2, max_d=100_000)
        run_rounds(searches, curves)
        for search in searches:
            reached = reaches("max", 0.9)
            low, high = bracket(search.values, reached)
            if high is None:  # crosses above the largest d: searched up to it
                assert low == 100_000 and crossings[search.seed] > 100_000 * 10 ** (-4 * noise)
                continue
            assert (low is None) == (high == 2), (crossings, search.seed, search.values)
            if low is not None:
                assert not reached(search.values[low]) and (high / low <= 1.25 or high - low <= 1)
                assert not any(low < d < high for d in search.values)
            if noise == 0 and low is not None:
                assert low < crossings[search.seed] <= high * (1 + 1e-9)
