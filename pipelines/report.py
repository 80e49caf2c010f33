"""DVC stage `report@<family>`: d_int90 of a family's tasks from its sweep manifest.

Writes metrics/<profile>/<family>/<task>-<kind>.json (the numbers `dvc metrics show` prints) and
reports/<profile>/<family>/ (summary.md, details.json, size_families.json with the spread of D and d_int90
of each size family, curves/ for `dvc plots show`, <family>.png with every task, figures/<task>.png,
figures/<group>.png: d_int90 against D, and figures/<other>-vs-<task>.png where a task names
`study.compare_with`), and logs one W&B run with the table and the figures.
`python pipelines/report.py study.family=vision profile=quick`
"""

import json
import sys
from pathlib import Path

from intrinsic_dim import tracking
from intrinsic_dim.config import command_line_config
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.plots import plot_comparison, plot_metric_vs_d, plot_size_family, plot_task_figures
from intrinsic_dim.runs import manifest, store
from intrinsic_dim.study.freshness import check_current, one_per_task_and_kind
from intrinsic_dim.study.report import (
    COLUMNS,
    comparisons,
    markdown,
    size_families,
    spreads,
    summarize,
    table_rows,
    write_curves,
    write_metrics,
)

if __name__ == "__main__":
    with one_line_errors("report"):
        cfg = command_line_config(sys.argv[1:], "study")
        family, profile = cfg.study.family, cfg.profile.name
        for folder, setting in (("metrics_dir", "paths.metrics_dir"), ("reports_dir", "paths.reports_dir")):
            store.ensure_writable(Path(cfg.paths[folder]) / profile / family, setting)
        command = f"dvc repro study@{family}"
        path = manifest.manifest_path(cfg.paths.results_dir, family, "sweep", profile)
        study = manifest.read(path, command)
        check_current(study, one_per_task_and_kind(study), Path(cfg.paths.results_dir), command)
        summary = summarize(study, Path(cfg.paths.results_dir), f"run `{command}` again")
        reports = Path(cfg.paths.reports_dir) / profile / family
        write_metrics(summary, Path(cfg.paths.metrics_dir) / profile / family)
        write_curves(summary, reports / "curves")
        if not summary:  # e.g. `dvc repro` of a profile without this family: the stage succeeds, empty
            (reports / "summary.md").write_text(f"No task of family {family} in profile {profile}.\n")
            print(f"{family}: no task in profile {profile}; add one to conf/profile/{profile}.yaml")
            sys.exit(0)
        table = markdown(summary)
        (reports / "summary.md").write_text(table)
        (reports / "details.json").write_text(json.dumps(summary, indent=2) + "\n")
        (reports / "size_families.json").write_text(json.dumps(spreads(summary), indent=2) + "\n")
        plot_metric_vs_d(summary, reports / f"{family}.png")
        figures = reports / "figures"
        for stale in figures.glob("*.png"):  # tasks no longer in the study
            stale.unlink()
        plot_task_figures(summary, figures)
        for group, members in size_families(summary).items():
            plot_size_family(group, members, figures / f"{group}.png")
        for pair in comparisons(summary):
            plot_comparison(summary, pair, figures / f"{pair[0]}-vs-{pair[1]}.png")
        print(table, end="")
        with tracking.wandb_run(
            cfg.logger, Path(cfg.paths.log_dir) / family / "summary", quiet=True,
            name=f"{family}/{profile}", group=family, job_type="summary", config={"study": summary},
        ) as run:  # fmt: skip
            if run is not None:
                import wandb

                images = {f"figures/{path.stem}": wandb.Image(str(path)) for path in sorted(figures.glob("*.png"))}
                run.log({"d_int90": wandb.Table(columns=list(COLUMNS), data=table_rows(summary)),
                         "metric_vs_d": wandb.Image(str(reports / f"{family}.png")), **images})  # fmt: skip
