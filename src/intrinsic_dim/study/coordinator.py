"""A study of one task family, as rounds of independent runs sent through a launcher.

baseline: one round, the full-space run of every task and seed of the profile.
sweep: the grid of every (task, kind) for the first seed in one round, then one round per bisection step of every
search still open, its thresholds relative to the baseline runs of the current settings and code. With
study.later_seeds=bracket, later seeds search only the thresholds set beside a paper value (the headline, and
`paper.also`), from the first seed's final bracket; the other thresholds rest on the first seed.
all (the DVC stage): baseline, then sweep. Runs already stored are reused, never launched; each stage ends by
writing its manifest.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from intrinsic_dim.core.projections import PROJECTIONS
from intrinsic_dim.errors import BadInput
from intrinsic_dim.run import Planned, groupable, on_a_gpu
from intrinsic_dim.runs import manifest, store
from intrinsic_dim.study.intrinsic import Threshold, reaches
from intrinsic_dim.study.progress import Progress, run_line
from intrinsic_dim.study.search import expected_bisections, next_dimensions, starting_points
from intrinsic_dim.tasks.family import available, family_named


@dataclass(frozen=True)
class Task:
    config: DictConfig
    selection: tuple[str, ...]  # the overrides that select it
    group: str | None  # the task config whose budget lists it as a variant (a size family), if any


Compose = Callable[[Sequence[str]], DictConfig]  # overrides -> the config of that run
Launch = Callable[[list[list[str]]], list[tuple[bool, Any]]]  # a batch of runs' overrides -> (ok, result or error)
POLL_SECONDS = 0.5
STAGES = {"baseline": ("baseline",), "sweep": ("sweep",), "all": ("baseline", "sweep")}  # study.stage
LATER_SEEDS = ("bracket", "grid")  # study.later_seeds: paper thresholds from the first seed's bracket, or its grid


@dataclass(frozen=True)
class RunSpec:
    task: str
    kind: str
    d: int | None
    seed: int
    selection: tuple[str, ...]  # the overrides that select the task: its config and, for a variant, its keys

    def overrides(self) -> list[str]:
        d = [f"subspace.d={self.d}"] if self.d is not None else []
        return [*self.selection, f"subspace={self.kind}", *d, f"seed={self.seed}"]

    def line(self, result: dict, metric: str, reused: bool) -> str:
        return run_line(self.task, self.kind, self.d, self.seed, result, metric, reused)

    def label(self) -> str:
        return f"{self.task} {self.kind}" + (f" d={self.d}" if self.d is not None else "") + f" seed {self.seed}"


@dataclass(frozen=True)
class Pending:
    """A run to launch: where its result will be, its log, and whether its task trains runs together."""

    spec: RunSpec
    key: str
    directory: Path
    log_file: Path
    groupable: bool  # may be trained together with others of its task and kind (run.groupable)


def pack(pending: list[Pending], most: int, jobs: int, seconds: Callable[[RunSpec], float]) -> list[list[Pending]]:
    """Runs of one task and kind in groups of at most `most`, similar d together, the costliest group first
    (`seconds` estimates a run). With parallel jobs the costliest groups are halved until there are two jobs per
    parallel job and none holds more than half a process's share of the round: a round lasts as long as its
    busiest process, and the launcher hands each free process the next job in order, so small jobs last fill the
    gaps. Halving costs little: at one thread per process training together gains 1.0-1.2x (measured)."""
    singles: list[list[Pending]] = []
    buckets: dict[tuple[str, str], list[Pending]] = {}
    for run in pending:
        if run.groupable and most > 1:
            buckets.setdefault((run.spec.task, run.spec.kind), []).append(run)
        else:
            singles.append([run])
    groups: list[list[Pending]] = []
    for bucket in buckets.values():
        bucket.sort(key=lambda run: (run.spec.d, run.spec.seed))
        groups += [bucket[start : start + most] for start in range(0, len(bucket), most)]

    def cost(group: list[Pending]) -> float:
        return sum(seconds(run.spec) for run in group)

    if jobs > 1:
        share = sum(map(cost, singles + groups)) / (2 * jobs)
        while True:
            splittable = [group for group in groups if len(group) > 1]
            costliest = max(splittable, key=cost, default=None)
            if costliest is None or (len(singles) + len(groups) >= 2 * jobs and cost(costliest) <= share):
                break
            index, half = groups.index(costliest), -(-len(costliest) // 2)
            groups[index : index + 1] = [costliest[:half], costliest[half:]]
    return sorted(singles + groups, key=cost, reverse=True)


@dataclass(eq=False)  # each search is its own key in a round's plan
class Search:
    """The search of one (task, kind, seed) for each of its targets. A later seed's search (`first` set) waits for
    the first seed's search to end, then starts at its final brackets (search.starting_points)."""

    task: str
    kind: str
    seed: int
    grid: list[int]
    min_d: int
    max_d: int
    precision: float
    targets: list[Callable[[float], bool]]  # one `reached` test per threshold it searches
    selection: tuple[str, ...]
    first: Search | None = None  # the first seed's search of this task and kind, for a later seed
    values: dict[int, float] = field(default_factory=dict)

    def spec(self, d: int) -> RunSpec:
        return RunSpec(self.task, self.kind, d, self.seed, self.selection)

    def start(self) -> list[int] | None:
        """The d values the search measures first: the grid (the curve is drawn even with no target to chase), or
        for a later seed the ends of the first seed's final brackets (None while that search goes on; none where
        the headline has no target)."""
        if self.first is None:
            return self.grid
        if not self.targets:
            return []
        if self.first.next_dimensions():
            return None
        return starting_points(self.first.values, self.targets)

    def next_dimensions(self) -> list[int]:
        start = self.start()
        if start is None:
            return []
        missing = [d for d in start if d not in self.values]
        if missing:
            return missing
        proposed = (next_dimensions(self.values, reached, start, self.min_d, self.max_d, self.precision)
                    for reached in self.targets)  # fmt: skip
        return sorted(set(itertools.chain.from_iterable(proposed)))

    def expected_runs(self) -> int:
        start = self.start()
        if start is None:  # a later seed, before it starts: a bracket's two ends per target, mostly enough
            return 2 * len(self.targets)
        missing = sum(d not in self.values for d in start)
        return missing + sum(expected_bisections(self.values, reached, start, self.precision)
                             for reached in self.targets)  # fmt: skip


def parallel_jobs(launcher: DictConfig) -> int:
    """How many runs the launcher runs at once on this machine (joblib's n_jobs); 1 in-process."""
    jobs = launcher.get("n_jobs") or 1
    cores = len(os.sched_getaffinity(0))
    return cores if jobs < 0 else min(jobs, cores)


def job_threads(cfg: DictConfig, jobs: int) -> int:
    """Each run's torch threads (part of its key): `threads` if given, a cluster job's CPUs, else this machine's
    cores shared among the parallel jobs (OpenMP threads of runs side by side would spin against each other)."""
    if cfg.threads:
        return cfg.threads
    return cfg.hydra.launcher.get("cpus_per_task") or max(1, len(os.sched_getaffinity(0)) // jobs)


class Study:
    def __init__(self, cfg: DictConfig, arguments: Sequence[str], compose: Compose, launch: Launch) -> None:
        self.cfg = cfg
        self.arguments = list(arguments)
        self.compose = compose
        self.launch = launch
        self.family, self.stage, self.profile = cfg.study.family, cfg.study.stage, cfg.profile
        self.results_dir = Path(cfg.paths.results_dir)
        self.jobs = parallel_jobs(cfg.hydra.launcher)
        self.threads = f"threads={job_threads(cfg, self.jobs)}"
        self.progress: Progress | None = None
        self.seconds: dict[tuple[str, str], dict[int | None, float]] = {}  # (task, kind) -> d -> a run's seconds

    def job_config(self, spec: RunSpec) -> DictConfig:
        return self.compose([*self.arguments, *spec.overrides(), self.threads])

    def tasks(self) -> dict[str, Task]:
        """The profile's tasks of this family by name, a task with variants in its budget expanded into them."""
        for seed in self.profile.seeds:
            if not isinstance(seed, int):
                raise BadInput(f"profile {self.profile.name}: seed {seed!r} is not an integer; fix profile.seeds")
        # the family first, without the study's overrides: those may name keys only this family's tasks have
        mine = [name for name in self.profile.tasks if self.compose([f"task={name}"]).task.family == self.family]
        tasks = {}
        for name in mine:
            cfg = self.compose([*self.arguments, f"task={name}"])
            task = cfg.task
            if self.jobs > 1 and on_a_gpu(task):
                raise BadInput(
                    f"task {name}: {self.jobs} parallel jobs would share one GPU; set hydra/launcher=basic for one "
                    "GPU (dvc: -S conf/pipeline.yaml:launcher=basic) or slurm for a GPU per job"
                )
            reported = family_named(task.family).reports(cfg)
            if task.study.metric not in reported:
                raise BadInput(
                    f"task {name}: study.metric {task.study.metric!r} is not one its runs report "
                    f"({', '.join(reported)}); fix task.study.metric or task.evaluate"
                )
            variants = task.budget.get("variants") or {None: []}
            for variant, overrides in variants.items():
                selection = (f"task={name}",)
                if variant is not None:
                    selection += (f"task.name={variant}", *(f"task.{override}" for override in overrides))
                config = self.compose([*self.arguments, *selection]).task if variant else task
                tasks[config.name] = Task(config, selection, group=name if variant else None)
        return tasks

    def run(self) -> dict:
        """Every stage `study.stage` names, each ending with its manifest; the last stage's manifest."""
        if self.stage not in STAGES:
            raise BadInput(f"study.stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        together = self.cfg.study.together
        if not isinstance(together, int) or isinstance(together, bool) or together < 1:
            raise BadInput(f"study.together must be a positive integer (1: one run at a time), got {together!r}")
        if self.cfg.study.later_seeds not in LATER_SEEDS:
            raise BadInput(
                f"study.later_seeds must be one of {', '.join(LATER_SEEDS)}, got {self.cfg.study.later_seeds!r}"
            )
        if self.family not in available() and "." not in self.family:  # one line, not an empty manifest
            raise BadInput(f"study.family={self.family} is not a task family; one of {', '.join(available())}")
        for argument in self.arguments:
            if argument.split("=", 1)[0].lstrip("+~") in ("seed", "subspace", "subspace.d"):
                raise BadInput(
                    f"{argument}: a study runs its profile's seeds and chooses each run's subspace; set "
                    "profile.seeds=[...] or the task's budget (kinds, grid) instead"
                )
            if argument.startswith("dataset="):  # its runs would be filed and reported under the task's name
                raise BadInput(
                    f"{argument} would file another dataset's runs under the names of the tasks that read "
                    f"{self.cfg.get('dataset', {}).get('name', 'theirs')}; write a task file that names its dataset "
                    "(docs/adding-a-task.md) and list it in the profile"
                )
        store.ensure_writable(self.results_dir)
        store.ensure_writable(Path(self.cfg.hydra.sweep.dir), "paths.log_dir")
        for stage in STAGES[self.stage]:
            study = self.run_stage(stage)
        return study

    def run_stage(self, stage: str) -> dict:
        self.progress = Progress(f"{self.family} {stage}")
        finished = False
        try:
            tasks = self.baselines() if stage == "baseline" else self.sweep()
            finished = True
        except KeyboardInterrupt:  # one line, printed once the bar is closed, instead of a traceback
            sys.exit(
                f"study {self.family} {stage} interrupted: its finished runs are stored in "
                f"{self.results_dir}; rerun the same command to resume"
            )
        finally:
            self.progress.close(finished)
        # `arguments` and a task's `selection` compose the config of any of its runs (study.freshness)
        study = {"family": self.family, "stage": stage, "profile": self.profile.name,
                 "seeds": list(self.profile.seeds), "tasks": tasks,
                 "arguments": [*self.arguments, self.threads]}  # fmt: skip
        manifest.write(manifest.manifest_path(self.results_dir, self.family, stage, self.profile.name), study)
        return study

    # -- the two stages --

    def baselines(self) -> dict:
        tasks = self.tasks()
        specs = [RunSpec(name, "none", None, seed, task.selection) for name, task in tasks.items()
                 for seed in self.seeds(task.config)]  # fmt: skip
        results = self.execute(specs, f"{self.family} baseline", expected_later=0)
        return {task: {"selection": list(tasks[task].selection),
                       "runs": [self.entry(spec, results[spec], 0) for spec in specs if spec.task == task]}
                for task in tasks}  # fmt: skip

    def sweep(self) -> dict:
        tasks, searches = {}, []
        for name, selected in self.tasks().items():
            task = selected.config
            facts = {**self.task_facts(name, selected), "group": selected.group}
            unknown = set(task.budget.kinds) - set(PROJECTIONS)
            if unknown:
                raise BadInput(
                    f"task {name}: unknown kinds {sorted(unknown)} in its budget; use {', '.join(PROJECTIONS)}"
                )
            min_d = {kind: PROJECTIONS[kind].min_dimension(facts["tensors"]) for kind in task.budget.kinds}
            # a kind's largest d: D, or less where the budget caps it (dense P takes D * d * 4 bytes)
            max_d = {kind: min(facts["D"], task.budget.get("max_d", {}).get(kind) or facts["D"]) for kind in min_d}
            tasks[name] = {**facts, "selection": list(selected.selection), "min_d": min_d, "max_d": max_d, "runs": []}
            seeds = self.seeds(task)
            bracketed = self.cfg.study.later_seeds == "bracket"
            compared = {facts["headline"], (facts["paper"] or {}).get("also")}  # set beside a paper value
            for threshold_name, threshold in facts["thresholds"].items():  # the seeds whose searches chase it
                threshold["seeds"] = seeds if threshold_name in compared or not bracketed else seeds[:1]
            for kind, lowest in min_d.items():
                grid = sorted({d for d in task.budget.grid if lowest <= d <= max_d[kind]}) or [lowest]
                first = None
                for seed in seeds:
                    targets = [reaches(facts["mode"], threshold["target"]) for threshold in facts["thresholds"].values()
                               if threshold["target"] is not None and seed in threshold["seeds"]]  # fmt: skip
                    search = Search(name, kind, seed, grid, lowest, max_d[kind], task.budget.precision, targets,
                                    selected.selection, first)  # fmt: skip
                    searches.append(search)
                    if first is None and bracketed:
                        first = search
        for round_index in itertools.count(1):
            planned = {search: search.next_dimensions() for search in searches}
            specs = [search.spec(d) for search, dims in planned.items() for d in dims]
            if not specs:
                return tasks
            later = sum(search.expected_runs() for search in searches) - len(specs)
            results = self.execute(specs, f"{self.family} sweep, round {round_index}", max(0, later))
            for spec in specs:
                tasks[spec.task]["runs"].append(self.entry(spec, results[spec], round_index))
            for search, dims in planned.items():
                search.values.update({d: self.metric(results[search.spec(d)], tasks[search.task]["metric"])
                                      for d in dims})  # fmt: skip

    # -- helpers --

    def seeds(self, task: DictConfig) -> list[int]:
        """The profile's seeds, or the task budget's own (`seeds`) where one task needs more than the rest."""
        seeds = list(task.budget.get("seeds") or self.profile.seeds)
        for seed in seeds:
            if not isinstance(seed, int):
                raise BadInput(f"task {task.name}: seed {seed!r} is not an integer; fix profile.seeds or its budget")
        return seeds

    def baseline_runs(self, name: str, selected: Task) -> dict[RunSpec, dict]:
        """The task's baseline runs made with the current settings and code, which its thresholds are relative to:
        a baseline of other settings (say, fewer epochs) or older code never stands in for them."""
        runs = {}
        for seed in self.seeds(selected.config):
            spec = RunSpec(name, "none", None, seed, selected.selection)
            result = Planned.of(self.job_config(spec)).stored()
            if result is None:
                raise BadInput(
                    f"the baseline of {name} (seed {seed}) with the current settings and code is not stored; "
                    f"run the baseline stage first (`dvc repro study@{self.family}`, or this command with "
                    "study.stage=baseline)"
                )
            runs[spec] = result
            self.timed(spec, result)
        return runs

    def task_facts(self, name: str, selected: Task) -> dict:
        """What the search and the report need of a task: metric, D, baseline value, targets."""
        task = selected.config
        baseline = self.baseline_runs(name, selected)
        runs = list(baseline.values())
        paths = [self.entry(spec, run, 0)["path"] for spec, run in baseline.items()]
        metric, mode = task.study.metric, task.study.mode
        reference = statistics.fmean(self.metric(run, metric) for run in runs)

        def measured(value):
            """A number as given, or the name of a metric every baseline run measured: its mean over them."""
            return statistics.fmean(self.metric(run, value) for run in runs) if isinstance(value, str) else value

        thresholds = {}
        for threshold_name, spec in task.study.thresholds.items():
            if spec is not None:
                spec = {**spec, "above": measured(spec.get("above"))}
                threshold = Threshold.from_config(threshold_name, spec, mode)
                target = threshold.value(reference)
                thresholds[threshold_name] = {"label": threshold.label, "target": target}
                if target is None:
                    reason = f"the baseline {reference:.4g} is not above {threshold.above:.4g}"
                    thresholds[threshold_name]["undefined"] = reason
        if task.study.headline not in thresholds:
            raise BadInput(f"task {name}: study.headline {task.study.headline!r} is not one of its thresholds")
        return {
            "metric": metric,
            "mode": mode,
            "D": runs[0]["D"],
            "tensors": runs[0]["tensors"],
            "baseline": {"value": reference, "runs": paths},
            "thresholds": thresholds,
            "headline": task.study.headline,
            "paper": OmegaConf.to_container(task.study.paper) if task.study.get("paper") else None,
            "chance": {**task.study.chance, "value": measured(task.study.chance.value)}
            if task.study.get("chance")
            else None,
            "compare_with": task.study.get("compare_with"),  # a task to draw this one against, in one figure
            "kinds": list(task.budget.kinds),
            "grid": list(task.budget.grid),
            "precision": task.budget.precision,
        }

    @staticmethod
    def metric(result: dict, name: str) -> float:
        if name not in result["metrics"]:
            raise BadInput(
                f"run {result['task']} {result['kind']} seed {result['seed']} has no metric {name!r} (it has "
                f"{', '.join(result['metrics'])}); measure that split via task.evaluate or change task.study.metric"
            )
        return result["metrics"][name]

    def entry(self, spec: RunSpec, result: dict, round_index: int) -> dict:
        directory = store.run_dir(self.results_dir, self.family, spec.task, spec.kind, spec.d, spec.seed, result["key"])
        return {"kind": spec.kind, "d": spec.d, "seed": spec.seed, "round": round_index,
                "path": directory.relative_to(self.results_dir).as_posix()}  # fmt: skip

    def execute(self, specs: list[RunSpec], title: str, expected_later: int) -> dict[RunSpec, dict]:
        """Every run's result: stored ones read, the others launched as one batch (runs of one task and kind
        packed into groups trained together, up to study.together per group)."""
        results: dict[RunSpec, dict] = {}
        pending: list[Pending] = []
        metrics: dict[str, str] = {}
        for spec in specs:
            cfg = self.job_config(spec)
            planned = Planned.of(cfg)
            key, directory = planned.key, planned.directory
            metrics[spec.task] = cfg.task.study.metric
            stored = planned.stored()
            if stored is not None:
                results[spec] = stored
                self.timed(spec, stored)
                self.progress.line(spec.line(stored, metrics[spec.task], reused=True), trained=False)
            else:
                log_file = Path(cfg.hydra.sweep.dir) / cfg.hydra.sweep.subdir / key[:10] / "output.log"
                pending.append(Pending(spec, key, directory, log_file, groupable(cfg)))
        self.progress.plan(title, len(pending), expected_later)
        if not pending:
            return results
        reported: set[RunSpec] = set()

        def report(spec: RunSpec, result: dict) -> None:
            if spec not in reported:
                reported.add(spec)
                self.progress.line(spec.line(result, metrics[spec.task], reused=False), trained=True)

        done = threading.Event()

        def watch() -> None:  # results appear while the launcher blocks, from this or other processes
            while not done.wait(POLL_SECONDS):
                for run in pending:
                    if run.spec not in reported and (run.directory / store.RESULT_FILE).is_file():
                        try:
                            report(run.spec, store.parse_result(run.directory / store.RESULT_FILE))
                        except BadInput:
                            pass  # still being written

        groups = pack(pending, self.cfg.study.together, self.jobs, self.estimated_seconds)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            outcomes = self.launch([self.overrides(group) for group in groups])
        finally:
            done.set()
            watcher.join()
        failures = []
        for group, (ok, value) in zip(groups, outcomes, strict=True):
            for index, run in enumerate(group):
                # a failed job may have stored some of its runs (a full disk, a job killed after its first run)
                result = value[index] if ok else store.load(run.directory, run.key)
                if result is not None:
                    results[run.spec] = result
                    self.timed(run.spec, result)
                    report(run.spec, result)
                else:
                    reason = " ".join(str(value).split())
                    kind = "" if isinstance(value, BadInput) else f"{type(value).__name__}: "
                    failures.append(f"  {run.spec.label()}: {kind}{reason} (log: {group[0].log_file})")
        if failures:
            raise BadInput(
                f"{len(failures)} of {len(pending)} runs failed; every finished run is stored and will be reused "
                "when you run this again:\n" + "\n".join(failures)
            )
        return results

    def timed(self, spec: RunSpec, result: dict) -> None:
        self.seconds.setdefault((spec.task, spec.kind), {})[spec.d] = result["provenance"]["seconds"]

    def estimated_seconds(self, spec: RunSpec) -> float:
        """A run's expected seconds, to balance a round: those of the nearest d measured of its task and kind, else
        its task's baseline (its per-step cost), else 1 (nothing known: every run alike)."""
        measured = self.seconds.get((spec.task, spec.kind))
        if measured and spec.d is not None:
            return measured[min(measured, key=lambda d: abs(math.log(d / spec.d)))]
        baseline = self.seconds.get((spec.task, "none"))
        return statistics.fmean(baseline.values()) if baseline else 1.0

    def overrides(self, group: list[Pending]) -> list[str]:
        """One job's overrides: its first run's, and the {d, seed} of the runs trained with it."""
        first, *others = (run.spec for run in group)
        together = ",".join(f"{{d:{spec.d},seed:{spec.seed}}}" for spec in others)
        return [*self.arguments, *first.overrides(), self.threads, *([f"together=[{together}]"] if others else [])]
