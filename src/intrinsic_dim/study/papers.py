"""The papers side by side: every published number this project reproduces beside its own value.

d_int90 rows come from the tasks whose config names a paper value (`study.paper`), read from the families'
reports of the profile that measured them; bound rows from the bounded tasks whose config names published bounds
on their dataset (`study.reference_bounds`), read from the bounds stage's selected bound. Pure functions of
those inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from intrinsic_dim.formatting import dimension_text
from intrinsic_dim.study.report import interval_text, value_text


@dataclass(frozen=True)
class PaperTask:
    """A task that reproduces a paper's number, and where it is (or can be) measured."""

    name: str
    family: str
    paper: dict  # task.study.paper: d_int90 (one number, or one per kind), source; optional note, also
    kinds: tuple[str, ...]  # the kinds its budget runs, where the paper's value holds for every kind
    budget: str  # what one run trains for at the profile that measures it, e.g. "quick: 5 epochs"
    paper_budget: str  # the same at the paper profile's budget
    profile: str | None  # the profile whose report holds its values; None: no report of a profile that runs it
    runs_in: tuple[str, ...]  # every profile that lists it


def verdict(paper: float, estimate: dict | None) -> str:
    """Whether the paper's value lies inside this project's 95% interval over seeds, and how far ours is."""
    if estimate is None or estimate["value"] is None:
        return "-"
    away = f"ours {round(100 * (estimate['value'] / paper - 1)):+d}%"
    if not estimate.get("interval"):
        return f"one seed, no interval ({away})"
    low, high = estimate["interval"]
    if low <= paper <= high:
        return "yes"
    return f"no: the paper's is {'below' if paper < low else 'above'} it ({away})"


def why_not(task: PaperTask, facts: dict) -> str:
    """One line on why the paper's value lies outside: the task's own note (else the budgets compared), and its
    value at the threshold the task names as the paper's own (`also`)."""
    reason = task.paper.get("note") or f"measured at {task.budget}, the paper's at {task.paper_budget}"
    other = facts["d_int"].get(task.paper.get("also") or "")
    if other is not None:
        reason += f"; at {other['label']}: {value_text(other)}"
        if other.get("interval"):
            reason += " " + interval_text(other)
    return reason


def crossings_text(estimate: dict) -> str:
    """The seeds and each seed's crossing, for the details column."""
    per_seed = estimate.get("per_seed") or {}
    found = ", ".join(dimension_text(facts["d"]) if facts["d"] is not None else "none" for facts in per_seed.values())
    return f"{len(per_seed)} ({found})" if per_seed else "-"


def d_int_rows(task: PaperTask, summary: dict | None, default: str, costs: dict[str, str]) -> list[list[str]]:
    """One row per kind the paper reports (or this project measured, where the paper's value holds for every
    kind): the paper's value, this project's, its interval and seeds, the budget, and the verdict."""
    values = task.paper["d_int90"]
    measured = (summary or {}).get(task.name, {})
    kinds = list(values) if isinstance(values, dict) else (list(measured) or list(task.kinds))
    rows = []
    for kind in kinds:
        paper = values[kind] if isinstance(values, dict) else values
        facts = measured.get(kind)
        estimate = facts["d_int"][facts["headline"]] if facts else None
        if estimate is None:
            where = " or ".join(task.runs_in)
            cost = "; ".join(costs[profile] for profile in task.runs_in if costs.get(profile))
            remark = f"run by the {where} profile" + (f" ({cost})" if cost else "") if task.runs_in else "no profile"
            rows.append([task.name, kind, f"{paper:,}", "-", "-", "-", task.budget, "-", remark])
            continue
        inside = verdict(paper, estimate)
        profile = "" if task.profile == default else f" ({task.profile} profile)"
        rows.append([task.name, kind, f"{paper:,}", value_text(estimate) + profile, interval_text(estimate),
                     crossings_text(estimate), task.budget, inside,
                     why_not(task, facts) if inside.startswith("no") else "-"])  # fmt: skip
    return rows


D_INT_COLUMNS = ("task", "kind", "paper", "this project", "95% interval", "seeds (crossings)", "budget",
                 "paper inside the interval?", "why not")  # fmt: skip
BOUND_COLUMNS = ("dataset", "prior", "paper's bound", "task", "this project's bound", "d", "bits", "train error",
                 "below the paper's?")  # fmt: skip


def table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def bound_rows(task: str, dataset: str, references: list[dict], bound: dict | None) -> list[list[str]]:
    """The published bounds on a task's dataset (`study.reference_bounds`) beside the bound of its runs."""
    rows = []
    for reference in references:
        paper = f"{100 * reference['error']:.1f}% ({reference['source']})"
        if bound is None:
            rows.append([dataset, reference["prior"], paper, task, "not bounded yet", "-", "-", "-", "-"])
            continue
        below = "yes" if bound["bound"] < reference["error"] else "no"
        rows.append([dataset, reference["prior"], paper, task, f"{100 * bound['bound']:.2f}%", f"{bound['d']:,}",
                     f"{bound['bits']:,.0f}", f"{100 * bound['train_err']:.2f}%", below])  # fmt: skip
    return rows


def page(sections: dict[str, list[list[str]]], bounds: list[list[str]]) -> str:
    """The tables: one d_int90 table per paper ({source: rows}), then the bounds (docs/papers.md embeds them)."""
    lines = []
    for source, rows in sections.items():
        lines += [f"### {source}", "", *table(D_INT_COLUMNS, rows), ""]
    lines += ["### Compression bounds", "", *table(BOUND_COLUMNS, bounds)]
    return "\n".join(lines) + "\n"
