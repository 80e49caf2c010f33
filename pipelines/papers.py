"""DVC stage `papers`: reports/<profile>/papers.md (embedded in docs/papers.md), every paper value this project
reproduces beside its own (value, 95% interval, seeds, budget, whether the paper's value lies inside), and the
compression bounds beside the published ones.

A row the default profile does not run is read from the report of a profile that does, where one exists, else
it names that profile and its cost (`cost` in conf/profile/<name>.yaml).
`python pipelines/papers.py profile=quick`
"""

import functools
import json
import sys
from pathlib import Path

from omegaconf import OmegaConf

from intrinsic_dim.config import CONF_DIR, command_line_config, compose
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.study.papers import PaperTask, bound_rows, d_int_rows, page


def budget_text(profile: str, budget) -> str:
    """What one run of the task trains for at that profile's budget."""
    for key, unit in (("epochs", "epochs"), ("timesteps", "timesteps"), ("max_iterations", "iterations")):
        if budget.get(key) is not None:
            return f"{profile}: {budget[key]:,} {unit}"
    if budget.get("generations") is not None:
        return f"{profile}: {budget.generations.subspace:,} generations"
    return profile


@functools.cache  # each family's report is read once, not once per task
def details(reports: Path, profile: str, family: str) -> dict | None:
    path = reports / profile / family / "details.json"
    return json.loads(path.read_text()) if path.is_file() else None


if __name__ == "__main__":
    with one_line_errors("papers"):
        cfg = command_line_config(sys.argv[1:], "study")
        default, reports, metrics = cfg.profile.name, Path(cfg.paths.reports_dir), Path(cfg.paths.metrics_dir)
        profiles = {path.stem: OmegaConf.load(path) for path in sorted((CONF_DIR / "profile").glob("*.yaml"))
                    if path.stem != "test"}  # fmt: skip
        order = [name for profile in (default, *profiles) for name in profiles[profile].tasks]
        names = sorted((path.stem for path in (CONF_DIR / "task").glob("*.yaml")),
                       key=lambda name: (order.index(name) if name in order else len(order), name))  # fmt: skip
        costs = {profile: profiles[profile].get("cost") for profile in profiles}
        sections: dict[str, list[list[str]]] = {}
        for name in names:
            runs_in = tuple(profile for profile in profiles if name in profiles[profile].tasks)
            family = compose([f"task={name}"], "study").task.family
            reported = [profile for profile in sorted(runs_in, key=lambda profile: profile != default)
                        if name in (details(reports, profile, family) or {})]  # fmt: skip
            profile = reported[0] if reported else (runs_in[0] if runs_in else default)
            task = compose([f"task={name}", f"profile={profile}"], "study").task
            paper = task.study.get("paper")
            if not paper or paper.get("d_int90") is None:
                continue
            at_paper = compose([f"task={name}", "profile=paper"], "study").task.budget
            entry = PaperTask(name, family, OmegaConf.to_container(paper), tuple(task.budget.kinds),
                              budget_text(profile, task.budget), budget_text("paper", at_paper),
                              reported[0] if reported else None, runs_in)  # fmt: skip
            summary = details(reports, entry.profile, family) if entry.profile else None
            source = paper.source.split(" (")[0]
            sections.setdefault(source, []).extend(d_int_rows(entry, summary, default, costs))
        bounds = []
        for name in profiles[default].get("bounds", []):
            task = compose([f"task={name}", f"profile={default}"], "study")
            references = task.task.study.get("reference_bounds")
            if references:
                found = metrics / default / "bounds" / task.task.family / f"{name}.json"
                bound = json.loads(found.read_text()) if found.is_file() else None
                bounds += bound_rows(name, task.dataset.name, OmegaConf.to_container(references), bound)
        written = reports / default / "papers.md"
        written.write_text(page(sections, bounds))
        print(f"{written}: {sum(map(len, sections.values()))} d_int90 rows, {len(bounds)} bound rows")
