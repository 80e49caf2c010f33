"""`python -m intrinsic_dim.runs.gc`: the stored runs no manifest references, listed, then removed with their DVC
cache objects; the runs the studies use stay."""

import shutil
from pathlib import Path

from helpers import in_process_study, study_arguments, succeeds
from intrinsic_dim.runs import gc, store


def toy_study(tmp_path, *overrides: str) -> dict:
    in_process_study(study_arguments(tmp_path, "toy", "baseline", *overrides))
    return in_process_study(study_arguments(tmp_path, "toy", "sweep", *overrides))


def test_gc_lists_then_removes_only_the_runs_no_manifest_uses(tmp_path):
    results = tmp_path / "results"
    earlier = toy_study(tmp_path, "task.budgets.test.lr.subspace=0.9")  # another subspace rate: other sweep keys
    old = {entry["path"] for entry in earlier["tasks"]["toy"]["runs"]}
    toy_study(tmp_path)  # the manifests now list only the runs of the default rate
    assert {path.as_posix() for path in gc.unreferenced(results)} == old
    used = gc.referenced(results)
    assert {Path(path) for path in earlier["tasks"]["toy"]["baseline"]["runs"]} <= used  # the same baseline: kept
    assert len(used) + len(old) == len(gc.stored(results))

    listed = succeeds(["python", "-m", "intrinsic_dim.runs.gc", "--results", str(results)])
    assert f"{len(old)} of {len(old) + len(used)} stored runs are in no manifest" in listed
    assert all((results / path).is_dir() for path in old)  # listing removes nothing

    cache = tmp_path / "cache"
    for path in old:  # as `dvc commit` caches a file: by its md5
        oid = gc.md5(results / path / store.RESULT_FILE)
        (cache / oid[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / path / store.RESULT_FILE, cache / oid[:2] / oid[2:])
    gc.remove(results, gc.unreferenced(results), cache)
    assert not any((results / path).exists() for path in old) and not list(cache.rglob("*/*"))
    assert all((results / path / store.RESULT_FILE).is_file() for path in used) and gc.unreferenced(results) == []
