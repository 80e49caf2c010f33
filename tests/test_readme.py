"""The README shows results verbatim, between markers naming the committed file they come from.

Compared with the file as committed (git HEAD), not as regenerated: `dvc repro` on another CPU gives other
floats, and the README documents the committed run.
"""

import re
import subprocess

import pytest

from helpers import ROOT

README = (ROOT / "README.md").read_text()
EMBEDDED = re.findall(r"<!-- (\S+) -->\n(.*?)<!-- end \1 -->", README, flags=re.DOTALL)


def committed(name: str) -> str:
    done = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"{name} is not committed in a git checkout here")
    return done.stdout


def test_the_readme_embeds_the_results_tables():
    assert {name for name, _ in EMBEDDED} >= {
        "benchmarks/results/core.md", "benchmarks/results/study.md", "reports/quick/toy/summary.md",
        "reports/quick/vision/summary.md", "reports/quick/bounds/vision/bounds.md", "reports/quick/rl/summary.md",
        "benchmarks/results/rl.md",
    }  # fmt: skip


@pytest.mark.parametrize(("name", "text"), EMBEDDED, ids=[name for name, _ in EMBEDDED])
def test_readme_tables_match_the_committed_files(name, text):
    assert text == committed(name)


def test_the_readme_leads_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    assert blocks[0].strip().endswith("dvc repro") and blocks[1].strip() == ".venv/bin/python -m pytest"
