"""Stored runs that no study manifest references: listed, and with --remove deleted from results/ and from the
DVC cache. Every code or settings change stores a new copy of the runs it affects beside the old ones (results/
is keyed by identity); the manifests say which runs the current studies use.

`python -m intrinsic_dim.runs.gc [--results results] [--remove]`
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from intrinsic_dim.runs.store import RESULT_FILE

MANIFEST_GLOB = "*/*/manifest-*.json"  # results/<family>/<stage>/manifest-<profile>.json


def referenced(results: Path) -> set[Path]:
    """Every run folder a manifest lists (its runs and its baselines), relative to `results`."""
    paths: set[Path] = set()
    for manifest in results.glob(MANIFEST_GLOB):
        for facts in json.loads(manifest.read_text())["tasks"].values():
            paths.update(Path(entry["path"]) for entry in facts.get("runs", []))
            paths.update(Path(path) for path in facts.get("baseline", {}).get("runs", []))
    return paths


def stored(results: Path) -> list[Path]:
    """Every run folder in the store, relative to `results`."""
    return sorted(path.parent.relative_to(results) for path in results.glob(f"*/*/*/*/{RESULT_FILE}"))


def unreferenced(results: Path) -> list[Path]:
    used = referenced(results)
    return [run for run in stored(results) if run not in used]


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove(results: Path, runs: list[Path], cache: Path | None) -> int:
    """Delete the run folders, then the DVC cache objects of their files that no kept file shares; bytes freed."""
    doomed = {file for run in runs for file in (results / run).rglob("*") if file.is_file()}
    freed = sum(file.stat().st_size for file in doomed)
    objects = {md5(file) for file in doomed} if cache is not None else set()
    for run in runs:
        shutil.rmtree(results / run)
    kept = {md5(file) for run in stored(results) for file in (results / run).rglob("*") if file.is_file()}
    for oid in objects - kept:
        (cache / oid[:2] / oid[2:]).unlink(missing_ok=True)
    return freed


def dvc_cache(root: Path) -> Path | None:
    """The DVC cache of the repository at `root` (where DVC 3 keeps file objects), or None outside one."""
    if not (root / ".dvc").is_dir():
        return None
    from dvc.repo import Repo

    return Path(Repo(str(root)).cache.local.path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m intrinsic_dim.runs.gc", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="the result store (default: results)")
    parser.add_argument("--remove", action="store_true", help="delete them (default: only list them)")
    arguments = parser.parse_args(argv)
    results = arguments.results
    if not results.is_dir():
        parser.exit(1, f"gc: {results} is not a folder; pass --results <the result store>\n")
    runs = unreferenced(results)
    for run in runs:
        print(run.as_posix())
    size = sum(file.stat().st_size for run in runs for file in (results / run).rglob("*") if file.is_file())
    print(f"{len(runs)} of {len(stored(results))} stored runs are in no manifest ({size / 2**20:.1f} MiB)")
    if arguments.remove and runs:
        freed = remove(results, runs, dvc_cache(results.resolve().parent))
        print(f"removed them ({freed / 2**20:.1f} MiB) and their DVC cache objects; dvc.lock still lists them "
              "until the next `dvc repro` records the smaller result folders")  # fmt: skip
    elif runs:
        print("pass --remove to delete them from results/ and the DVC cache")


if __name__ == "__main__":
    main()
