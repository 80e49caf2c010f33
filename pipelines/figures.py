"""DVC stage `figures`: accuracy vs d per task (PNG) and per-task CSVs for `dvc plots show`."""

import json
import sys
from pathlib import Path

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.plots import plot_accuracy_vs_d, write_curve_csv
from intrinsic_dim.study import sweep_curves

if __name__ == "__main__":
    with one_line_errors("figures"):
        cfg = compose(sys.argv[1:])
        profile = cfg.profile.name
        summary = json.loads((Path(cfg.paths.metrics_dir) / profile / "intrinsic_dim.json").read_text())
        curves = sweep_curves(profile, sys.argv[1:])
        for task, points in curves.items():
            write_curve_csv(points, Path(cfg.paths.metrics_dir) / profile / "curves" / f"{task}.csv")
        plot_accuracy_vs_d(curves, summary, Path(cfg.paths.figures_dir) / f"{profile}_accuracy_vs_d.png")
