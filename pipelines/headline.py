"""DVC stage `headline`: reports/<profile>/headline.md, one row per task and kind of every family's report
(d_int90, its interval over seeds, the paper's value): the table the README shows.

`python pipelines/headline.py profile=quick`
"""

import json
import sys
from pathlib import Path

from omegaconf import OmegaConf

from intrinsic_dim.config import CONF_DIR, command_line_config
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.study.report import headline_markdown

if __name__ == "__main__":
    with one_line_errors("headline"):
        cfg = command_line_config(sys.argv[1:], "study")
        reports = Path(cfg.paths.reports_dir) / cfg.profile.name
        families = OmegaConf.load(CONF_DIR / "pipeline.yaml").families  # the order of the rows
        found = {family: reports / family / "details.json" for family in families}
        table = headline_markdown({family: json.loads(path.read_text()) for family, path in found.items()
                                   if path.is_file()})  # fmt: skip
        (reports / "headline.md").write_text(table)
        print(table, end="")
