"""Claims on runs: a process trains a run only while it holds the run's claim, so studies and cluster jobs that
share one store never train a run twice.

A claim is an exclusive lock (flock) on `<results>/.claims/<key>.lock`. The operating system releases it when
its process ends, however it ends (kill -9, out of memory, a cancelled cluster job): a claim never goes stale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

CLAIMS = ".claims"


@contextlib.contextmanager
def claim(results_dir: str | Path, key: str, wait: bool) -> Iterator[bool]:
    """Whether this process holds run `key`'s claim inside the block. Without `wait`, a run another process holds
    is not waited for (False); with it, the claim is taken once the holder is done or gone."""
    folder = Path(results_dir) / CLAIMS
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / f"{key}.lock", timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
