"""The papers side by side: each paper value beside this project's, the verdict on its interval, and the bounds."""

import pytest

from intrinsic_dim.study.intrinsic import intrinsic_dimension, reaches
from intrinsic_dim.study.papers import PaperTask, bound_rows, d_int_rows, page, verdict


def estimate_for(crossings: list[int], label: str = "90% of baseline") -> dict:
    """A real d_int estimate whose seeds cross at `crossings` (each halfway in log d between d/2 and 2d)."""
    per_seed = {seed: {at // 2: 0.8, 2 * at: 1.0} for seed, at in enumerate(crossings)}
    return {"label": label, **intrinsic_dimension(per_seed, 0.9, reaches("max", 0.9), precision=4.0)}


def task(**paper) -> PaperTask:
    return PaperTask("cifar10_lenet", "vision", {"source": "Li et al. 2018", **paper}, ("fastfood",),
                     "quick: 20 epochs", "paper: 100 epochs", "quick", ("quick", "paper"))  # fmt: skip


def summary_of(headline: dict, **others: dict) -> dict:
    return {"cifar10_lenet": {"fastfood": {"headline": "relative", "d_int": {"relative": headline, **others}}}}


def test_the_verdict_says_whether_the_papers_value_lies_inside_the_interval():
    three = estimate_for([800, 1000, 1250])  # geometric mean 1,000, 95% interval [574, 1,741]
    assert verdict(1500, three) == "yes" and verdict(574, three) == "no: the paper's is below it (ours +74%)"
    assert verdict(2000, three) == "no: the paper's is above it (ours -50%)"
    assert verdict(800, estimate_for([1000])) == "one seed, no interval (ours +25%)"
    assert verdict(800, {"value": None}) == "-"


def test_a_row_outside_its_interval_says_why_and_shows_the_papers_own_target():
    at_paper_target = estimate_for([2000, 2400, 2200], label="90% of the paper's baseline (58%)")
    summary = summary_of(estimate_for([4800, 5000, 5200]), paper_baseline=at_paper_target)
    (row,) = d_int_rows(task(d_int90=2900, note="a stronger baseline", also="paper_baseline"), summary, "quick", {})
    assert row[:4] == ["cifar10_lenet", "fastfood", "2,900", "4,997"]
    assert row[4] == "[4,524, 5,520]" and row[5] == "3 (4,800, 5,000, 5,200)" and row[6] == "quick: 20 epochs"
    assert row[7] == "no: the paper's is below it (ours +72%)"
    assert row[8] == "a stronger baseline; at 90% of the paper's baseline (58%): 2,194 [1,749, 2,752]"
    inside = d_int_rows(task(d_int90=5000), summary_of(estimate_for([4800, 5000, 5200])), "quick", {})
    assert inside[0][7:] == ["yes", "-"]
    budgets = d_int_rows(task(d_int90=9000), summary_of(estimate_for([4800, 5000, 5200])), "quick", {})
    assert budgets[0][8] == "measured at quick: 20 epochs, the paper's at paper: 100 epochs"  # no note: the budgets


def test_a_row_no_report_holds_names_the_profiles_that_run_it_and_their_cost():
    paper_only = PaperTask("humanoid_es", "rl", {"d_int90": 700, "source": "Li et al. 2018 (ES)"}, ("fastfood",),
                           "paper: 1,000 generations", "paper: 1,000 generations", None, ("paper",))  # fmt: skip
    (row,) = d_int_rows(paper_only, None, "quick", {"paper": "GPU-days"})
    assert row == ["humanoid_es", "fastfood", "700", "-", "-", "-", "paper: 1,000 generations", "-",
                   "run by the paper profile (GPU-days)"]  # fmt: skip
    per_kind = PaperTask("mrpc_roberta_large", "language", {"d_int90": {"said": 207, "fastfood": 322}}, ("said",),
                         "-", "-", None, ())  # fmt: skip
    assert [row[1:3] + row[-1:] for row in d_int_rows(per_kind, None, "quick", {})] == [
        ["said", "207", "no profile"], ["fastfood", "322", "no profile"]]  # fmt: skip


def test_bounds_beside_the_published_ones():
    lotfi = [{"error": 0.116, "prior": "data-independent", "source": "Lotfi et al. 2022"}]
    bound = {"d": 1000, "bits": 3202.585, "train_err": 0.0281, "bound": 0.1019}
    (row,) = bound_rows("mnist_lenet_long", "mnist", lotfi, bound)
    assert row == ["mnist", "data-independent", "11.6% (Lotfi et al. 2022)", "mnist_lenet_long", "10.19%", "1,000",
                   "3,203", "2.81%", "yes"]  # fmt: skip
    assert (
        bound_rows("cifar10_lenet", "cifar10", [{**lotfi[0], "error": 0.582}], {**bound, "bound": 0.6834})[0][-1]
        == "no"
    )
    assert bound_rows("cifar10_lenet", "cifar10", lotfi, None)[0][4] == "not bounded yet"
    text = page({"Li et al. 2018": [["a"] * 9]}, [])
    assert text.startswith("### Li et al. 2018\n\n| task | kind | paper |") and "### Compression bounds" in text


@pytest.mark.parametrize("crossings", [[300, 310, 320], [100, 1000, 10000]])
def test_the_interval_always_holds_the_geometric_mean(crossings):
    estimate = estimate_for(crossings)
    low, high = estimate["interval"]
    assert low < estimate["value"] < high and estimate["value"] == pytest.approx(
        (crossings[0] * crossings[1] * crossings[2]) ** (1 / 3))  # fmt: skip
