"""A dataset's raw files (or folders) under `root`: kept there, else copied from a local mirror, and checked
against the sha256 digests of conf/dataset before they are read."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from intrinsic_dim.errors import DataError


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RawFiles:
    """`names` (paths relative to root) under `root`, or in the same layout under `mirror`."""

    def __init__(
        self, root: str | Path, mirror: str | Path | None, names: Iterable[str], sha256: Mapping[str, str | None]
    ) -> None:
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.names = list(names)
        self.expected_sha256 = dict(sha256)  # by the key each source chooses: its split, or the file's name

    def present(self, directory: Path | None = None) -> bool:
        directory = self.root if directory is None else directory
        return all((directory / name).exists() for name in self.names)

    def fetch(self) -> bool:
        """Whether root has every file, now or after copying them from the mirror."""
        if self.present():
            return True
        if self.mirror is None or not self.present(self.mirror):
            return False
        for name in self.names:
            source, target = self.mirror / name, self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
        return True

    def checked(self, name: str, key: str | None = None) -> Path:
        """The path of raw file `name` under root, which matches its sha256 (under `key`, by default its name)."""
        path = self.root / name
        if not path.exists():
            raise DataError(f"{path} is missing; run `python pipelines/fetch_data.py dataset=<name>` first")
        key = key or name
        expected = self.expected_sha256.get(key)
        if expected is None:
            return path
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a file with a digest; set dataset.source.sha256.{key}=null")
        if sha256(path) != expected:
            raise DataError(
                f"{path} does not match its sha256 in conf/dataset ({expected[:12]}...): it is corrupt or another "
                f"copy; delete it and fetch again, or set dataset.source.sha256.{key}=null to accept it"
            )
        return path
