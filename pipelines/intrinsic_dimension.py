"""DVC stage `intrinsic_dim`: d_int90 of every task by both thresholds -> metrics/<profile>/intrinsic_dim.{json,md}."""

import json
import sys
from pathlib import Path

from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.intrinsic import markdown_summary
from intrinsic_dim.study import summarize

if __name__ == "__main__":
    with one_line_errors("intrinsic_dim"):
        summary = summarize(sys.argv[1:])
        path = Path(summary["metrics_file"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary["tasks"], indent=2) + "\n")
        path.with_suffix(".md").write_text(markdown_summary(summary["tasks"]))
        print(markdown_summary(summary["tasks"]))
