"""The README shows committed results verbatim, between markers naming the file they come from."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def embedded(name: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"<!-- {name} -->\n") + len(f"<!-- {name} -->\n")
    return readme[start : readme.index(f"<!-- end {name} -->")]


@pytest.mark.parametrize("name", ["benchmarks/results/core.md", "metrics/quick/intrinsic_dim.md"])
def test_readme_tables_match_the_committed_files(name):
    assert embedded(name) == (ROOT / name).read_text()


def test_committed_results_have_what_the_readme_promises():
    targets = json.loads((ROOT / "benchmarks" / "results" / "core.json").read_text())["targets"]
    assert set(targets) == {
        "hadamard_2^24_forward_backward_ms",
        "fastfood_over_direct_mlp_1m_d10000",
        "sparse_over_direct_d10000",
    }
    tasks = json.loads((ROOT / "metrics" / "quick" / "intrinsic_dim.json").read_text())
    assert set(tasks) == {"mnist_fc", "mnist_lenet"}
    for facts in tasks.values():
        assert facts["absolute"]["target"] == pytest.approx(0.9)
        assert facts["relative"]["target"] == pytest.approx(0.9 * facts["baseline_val_acc"])
    assert (ROOT / "figures" / "quick_accuracy_vs_d.png").is_file()
