import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "core.py"), "--quick", "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    results = json.loads((tmp_path / "core.json").read_text())
    assert [row["length"] for row in results["hadamard"]] == [256, 512, 1024]
    assert all(row["forward_backward_ms"] > 0 for row in results["hadamard"])
    kinds = {row["kind"]: row for row in results["steps"]}
    assert set(kinds) == {"direct", "dense", "sparse", "fastfood", "said"}
    for row in results["steps"]:
        assert row["D"] == 32 * 64 + 64 + 64 * 10 + 10
        assert row["model_mb"] >= 0 and row["peak_rss_mb"] > row["model_mb"]
        if row["kind"] != "direct":
            assert row["ratio_to_direct"] == pytest.approx(row["step_ms"] / row["direct_step_ms"])
    assert (tmp_path / "core.md").read_text().count("| tiny |") == 5
