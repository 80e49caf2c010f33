"""A family's results from its sweep manifest: d_int90 per task and kind, tables, curves, figure, W&B summary.

Only the runs the manifest lists are read: a stale run in the store (older settings, code or seeds) never
enters a number.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from intrinsic_dim.formatting import dimension_text
from intrinsic_dim.runs import store
from intrinsic_dim.study.intrinsic import CONFIDENCE, intrinsic_dimension, reaches


def summarize(study: dict, results_dir: Path, fix: str) -> dict:
    """{task: {kind: facts}}: baseline, curves per seed, and d_int by every threshold of the task."""
    summary = {}
    for task, facts in study["tasks"].items():
        metric = facts["metric"]
        baseline = [store.read(Path(results_dir) / path, fix)["metrics"][metric] for path in facts["baseline"]["runs"]]
        runs = [(entry, store.read(Path(results_dir) / entry["path"], fix)) for entry in facts["runs"]]
        summary[task] = {}
        for kind in facts["kinds"]:
            per_seed: dict[int, dict[int, float]] = {}
            for entry, result in runs:
                if entry["kind"] == kind:
                    per_seed.setdefault(entry["seed"], {})[entry["d"]] = result["metrics"][metric]
            summary[task][kind] = {
                "D": facts["D"],
                "metric": metric,
                "mode": facts["mode"],
                "baseline": statistics.fmean(baseline),
                "seeds": len(per_seed),
                "headline": facts["headline"],
                "paper": paper_value(facts["paper"], kind),
                "chance": facts.get("chance"),
                "group": facts.get("group"),
                "compare_with": facts.get("compare_with"),
                "curves": {seed: dict(sorted(values.items())) for seed, values in per_seed.items()},
                "d_int": {name: threshold_estimate(threshold, per_seed, facts)
                          for name, threshold in facts["thresholds"].items()},
            }  # fmt: skip
    return summary


def threshold_estimate(threshold: dict, per_seed: dict[int, dict[int, float]], facts: dict) -> dict:
    """d_int by one threshold, from the seeds whose searches chased it (a later seed's few runs near the headline's
    crossing say little about another threshold's); a threshold without a target (its baseline not above its floor)
    has none."""
    chased = threshold.get("seeds")
    per_seed = {seed: values for seed, values in per_seed.items() if chased is None or seed in chased}
    if threshold["target"] is None:
        return {**threshold, "seeds": len(per_seed), "reached": False, "value": None, "interval": None,
                "confidence": CONFIDENCE}  # fmt: skip
    found = intrinsic_dimension(per_seed, threshold["target"], reaches(facts["mode"], threshold["target"]),
                                facts["precision"])  # fmt: skip
    return {"label": threshold["label"], **found}


def paper_value(paper: dict | None, kind: str) -> dict | None:
    """The paper's d_int90 for this kind: one number for every kind, or one per kind ({said: 207, ...})."""
    if not paper:
        return None
    value = paper["d_int90"]
    if isinstance(value, dict):
        return {**paper, "d_int90": value[kind]} if kind in value else None
    return paper


def comparisons(summary: dict) -> list[tuple[str, str]]:
    """(other, task) for every task that names another task of the study to be drawn against."""
    pairs = {(next(iter(kinds.values()))["compare_with"], task) for task, kinds in summary.items()}
    return sorted((other, task) for other, task in pairs if other in summary and other != task)


def size_families(summary: dict) -> dict:
    """{group: {task: {kind: facts}}} for the variants of one task config that differ in D (nets of several sizes)."""
    groups: dict[str, dict] = {}
    for task, kinds in summary.items():
        group = next(iter(kinds.values()))["group"]
        if group is not None:
            groups.setdefault(group, {})[task] = kinds
    sizes = {
        group: {next(iter(kinds.values()))["D"] for kinds in members.values()} for group, members in groups.items()
    }
    return {group: members for group, members in groups.items() if len(sizes[group]) > 1}


def spread(members: dict, kind: str) -> dict:
    """How much D and d_int90 vary across a size family: the paper's claim is that d_int90 varies far less."""
    pairs = [(kinds[kind]["D"], kinds[kind]["d_int"][kinds[kind]["headline"]]["value"]) for kinds in members.values()
             if kind in kinds]  # fmt: skip
    sizes, dimensions = [D for D, _ in pairs], [d for _, d in pairs if d is not None]
    metrics = {
        "members": len(pairs),
        "D_min": min(sizes),
        "D_max": max(sizes),
        "D_spread": round(max(sizes) / min(sizes), 2),
    }
    if len(dimensions) == len(pairs):
        metrics.update(d_int90_min=round(min(dimensions), 1), d_int90_max=round(max(dimensions), 1),
                       d_int90_spread=round(max(dimensions) / min(dimensions), 2))  # fmt: skip
    return metrics


def headline_metrics(facts: dict) -> dict:
    """The few numbers `dvc metrics show` prints for one task and kind."""
    metrics = {"D": facts["D"], "seeds": facts["seeds"], "baseline": float(f"{facts['baseline']:.6g}")}
    for name, estimate in facts["d_int"].items():
        metrics[name] = None if estimate["value"] is None else round(estimate["value"], 1)
        if estimate["interval"] is not None:
            metrics[f"{name}_low"], metrics[f"{name}_high"] = (round(bound, 1) for bound in estimate["interval"])
    if facts["paper"]:
        metrics["paper"] = facts["paper"]["d_int90"]
    return metrics


def seeds_note(estimate: dict) -> str:
    """How many seeds a value rests on, and the interval's confidence where there is one."""
    seeds = f"{estimate['seeds']} seed" + ("s" if estimate["seeds"] != 1 else "")
    return f"{round(100 * estimate['confidence'])}%, {seeds}" if estimate.get("interval") else seeds


def value_text(estimate: dict) -> str:
    """The d_int value alone: `<= v` where a seed reached the target at its smallest d, or why there is none."""
    if estimate.get("undefined"):
        return f"undefined ({estimate['undefined']})"
    if estimate["value"] is None:
        unreached = estimate.get("unreached_seeds") or []
        if unreached and len(unreached) < estimate["seeds"]:
            return "not reached by seed " + ", ".join(map(str, unreached))
        return "not reached"
    return ("<= " if estimate["upper_bound"] else "") + dimension_text(estimate["value"])


def interval_text(estimate: dict) -> str:
    return "[{}, {}]".format(*map(dimension_text, estimate["interval"])) if estimate.get("interval") else "-"


def show(estimate: dict) -> str:
    """One d_int value for a table: the geometric mean over seeds, its interval, and what it rests on."""
    value = value_text(estimate)
    if estimate.get("undefined") or estimate["value"] is None:
        return value
    if estimate["interval"] is not None:
        value += " " + interval_text(estimate)
    return f"{value} ({seeds_note(estimate)}, {'bisection' if estimate['refined'] else 'grid only'})"


COLUMNS = ("task", "kind", "D", "baseline", "seeds", "d_int90", "threshold", "other thresholds", "paper")


def table_rows(summary: dict) -> list[list[str]]:
    """One row of COLUMNS per task and kind, for the markdown table and the W&B summary table."""
    rows = []
    for task, kinds in summary.items():
        for kind, facts in kinds.items():
            headline = facts["d_int"][facts["headline"]]
            others = "; ".join(
                f"{show(estimate)} at {estimate['label']}"
                for name, estimate in facts["d_int"].items()
                if name != facts["headline"]
            )
            baseline = f"{facts['metric']} {facts['baseline']:.4g}"
            if facts.get("chance"):
                baseline += f" ({facts['chance']['label']} {facts['chance']['value']:.4g})"
            rows.append([task, kind, f"{facts['D']:,}", baseline,
                         str(facts["seeds"]), show(headline), headline["label"], others or "-",
                         paper_cell(facts)])  # fmt: skip
    return rows


def paper_cell(facts: dict) -> str:
    """The paper's d_int90 and how far the headline value is from it, or nothing where no paper reports one."""
    if not facts["paper"]:
        return ""
    value, paper = facts["d_int"][facts["headline"]]["value"], facts["paper"]["d_int90"]
    return f"{paper:,}" + (f" ({round(100 * (value / paper - 1)):+d}%)" if value is not None else "")


HEADLINE_COLUMNS = ("task", "family", "kind", "d_int90", "95% interval", "seeds", "paper")


def headline_markdown(summaries: dict[str, dict]) -> str:
    """One row per task and kind of every family's summary ({family: summary}): the headline d_int90 (geometric
    mean over seeds), its 95% interval (with 2+ seeds) and the paper's value."""
    lines = ["| " + " | ".join(HEADLINE_COLUMNS) + " |", "|" + "---|" * len(HEADLINE_COLUMNS)]
    for family, summary in summaries.items():
        for task, kinds in summary.items():
            for kind, facts in kinds.items():
                estimate = facts["d_int"][facts["headline"]]
                value = "undefined" if estimate.get("undefined") else value_text(estimate)
                cells = (task, family, kind, value, interval_text(estimate), str(facts["seeds"]),
                         paper_cell(facts) or "-")  # fmt: skip
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def spreads(summary: dict) -> dict:
    """{group: {kind: spread}} of every size family in the study."""
    families = {}
    for group, members in size_families(summary).items():
        kinds = sorted({kind for facts in members.values() for kind in facts})
        families[group] = {kind: spread(members, kind) for kind in kinds}
    return families


SPREAD_COLUMNS = ("size family", "kind", "nets", "D", "d_int90", "D spread", "d_int90 spread")


def markdown(summary: dict) -> str:
    """The d_int90 table, and below it one row per size family: how little d_int90 varies where D does."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summary)]
    families = [(group, kind, facts) for group, kinds in spreads(summary).items() for kind, facts in kinds.items()]
    if families:
        lines += ["", "| " + " | ".join(SPREAD_COLUMNS) + " |", "|" + "---|" * len(SPREAD_COLUMNS)]
        for group, kind, facts in families:
            if "d_int90_spread" in facts:
                dimensions = f"{dimension_text(facts['d_int90_min'])} - {dimension_text(facts['d_int90_max'])}"
                dimension_spread = f"{facts['d_int90_spread']:.2f}x"
            else:
                dimensions, dimension_spread = "not all reached", "-"
            sizes = f"{facts['D_min']:,} - {facts['D_max']:,}"
            cells = (
                group,
                kind,
                str(facts["members"]),
                sizes,
                dimensions,
                f"{facts['D_spread']:.1f}x",
                dimension_spread,
            )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_curves(summary: dict, directory: Path) -> None:
    """One CSV per task and kind, for `dvc plots show`."""
    directory.mkdir(parents=True, exist_ok=True)
    for task, kinds in summary.items():
        for kind, facts in kinds.items():
            with (directory / f"{task}-{kind}.csv").open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["d", "seed", facts["metric"].replace("/", "_")])
                for seed, values in sorted(facts["curves"].items()):
                    writer.writerows([d, seed, value] for d, value in values.items())


def write_json_files(directory: Path, files: dict[str, dict]) -> None:
    """`directory` holding exactly these `{name: content}` JSON files: those of tasks no longer in it go."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        stale.unlink()
    for name, content in files.items():
        (directory / f"{name}.json").write_text(json.dumps(content, indent=2) + "\n")


def write_metrics(summary: dict, directory: Path) -> None:
    files = {
        f"{task}-{kind}": headline_metrics(facts) for task, kinds in summary.items() for kind, facts in kinds.items()
    }
    write_json_files(directory, files)
