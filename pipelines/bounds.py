"""DVC stage `bounds@<family>`: compression bounds of the subspace runs of a family's sweep.

For each task in the profile's `bounds` list and each run of the kinds in `bounds.kinds`, every codebook option
is bounded once and kept in results/bounds/<family>/ (reused on the next call); then
reports/<profile>/bounds/<family>/ (bounds.md, bounds.json with every row, figures/<task>.png) and
metrics/<profile>/bounds/<family>/<task>.json for the option each task selects on training data.
`python pipelines/bounds.py study.family=vision profile=quick`
"""

import json
import logging
import sys
import warnings
from pathlib import Path

import transformers
from omegaconf import OmegaConf
from tqdm import tqdm

from intrinsic_dim.bounds.cache import bounded
from intrinsic_dim.bounds.report import markdown, plot_bounds, selected, write_metrics
from intrinsic_dim.config import command_line_config, compose
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.runs import manifest, store
from intrinsic_dim.study.freshness import check_current

if __name__ == "__main__":
    with one_line_errors("bounds"):
        cfg = command_line_config(sys.argv[1:], "bounds")
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no per-fit banners: one bar for the stage
        warnings.filterwarnings("ignore", ".*no `val_dataloader`")  # the fine-tune sees the training split only
        warnings.filterwarnings("ignore", ".*`srun` command is available")  # a local fine-tune on a SLURM machine
        warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\)", FutureWarning)  # inside lightning
        transformers.utils.logging.disable_progress_bar()  # no bar per restored language model
        family, profile, results = cfg.study.family, cfg.profile.name, Path(cfg.paths.results_dir)
        study = manifest.read(manifest.manifest_path(results, family, "sweep", profile), f"dvc repro study@{family}")
        tasks = [task for task in cfg.profile.get("bounds", []) if task in study["tasks"]]
        # a task may change the options for its runs (task.bounds: a language model's fine-tune costs minutes)
        options = {}
        for task in tasks:
            own = compose([*sys.argv[1:], f"task={task}"], config_name="bounds").task.get("bounds")
            options[task] = OmegaConf.merge(cfg.bounds, own or {})
        runs = [(task, entry) for task in tasks for entry in study["tasks"][task]["runs"]
                if entry["kind"] in options[task].kinds]  # fmt: skip
        check_current(study, runs, results, f"dvc repro study@{family}")  # a bound of a stale run is no bound
        cache = results / "bounds" / family
        store.ensure_writable(cache)  # the stage's output, even with no run to bound
        for folder in ("metrics_dir", "reports_dir"):  # before hours of bounds, not after
            store.ensure_writable(Path(cfg.paths[folder]) / profile / "bounds" / family, f"paths.{folder}")
        rows = []
        with tqdm(runs, desc=f"{family} bounds", unit="run", bar_format="{desc}: {n_fmt}/{total_fmt} runs "
                  "[{elapsed} elapsed, ~{remaining} left]") as bar:  # fmt: skip
            for task, entry in bar:
                kinds = len(study["tasks"][task]["kinds"])
                found, reused = bounded(results / entry["path"], cache, cfg.paths, options[task], kinds)
                best = min(found, key=lambda row: row["catoni"])
                bar.write(f"  {task:<24} {entry['kind']:<8} d={entry['d']:<9,} seed {entry['seed']:<3} "
                          f"Catoni {best['catoni']:.2%}  {'stored' if reused else 'bounded'}")  # fmt: skip
                rows += found
        reports = Path(cfg.paths.reports_dir) / profile / "bounds" / family
        reports.mkdir(parents=True, exist_ok=True)
        write_metrics(rows, Path(cfg.paths.metrics_dir) / profile / "bounds" / family)
        if not rows:
            (reports / "bounds.md").write_text(f"No task of family {family} is bounded in profile {profile}.\n")
            print(f"{family}: no run to bound; list tasks under `bounds:` in conf/profile/{profile}.yaml")
            sys.exit(0)
        (reports / "bounds.md").write_text(markdown(rows))
        (reports / "bounds.json").write_text(json.dumps(rows, indent=2) + "\n")
        for stale in (reports / "figures").glob("*.png"):  # tasks no longer bounded
            stale.unlink()
        for task in selected(rows):
            plot_bounds(rows, task, reports / "figures" / f"{task}.png")
        print(markdown(rows), end="")
