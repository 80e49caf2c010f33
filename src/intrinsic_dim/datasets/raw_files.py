"""A dataset's raw files (or folders) under `root`: kept there, else copied from a local mirror (each copy checked
against its digest), and checked against the sha256 digests of conf/dataset before they are read."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

from intrinsic_dim.errors import DataError


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RawFiles:
    """`files` (key -> path relative to root) under `root`, or in the same layout under `mirror`; `sha256` gives
    the digest of some keys (the key is what each source chooses: a split, or a file's name)."""

    def __init__(
        self, root: str | Path, mirror: str | Path | None, files: Mapping[str, str], sha256: Mapping[str, str | None]
    ) -> None:
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.files = dict(files)
        self.expected_sha256 = dict(sha256)

    def present(self, directory: Path | None = None) -> bool:
        directory = self.root if directory is None else directory
        return all((directory / name).exists() for name in self.files.values())

    def fetch(self) -> bool:
        """Whether root has every file, now or after copying them from the mirror."""
        if self.present():
            return True
        if self.mirror is None or not self.present(self.mirror):
            return False
        for key, name in self.files.items():
            source, target = self.mirror / name, self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
                continue
            expected = self.expected_sha256.get(key)
            if expected is not None and sha256(source) != expected:  # never copy a corrupt or truncated file
                raise DataError(
                    f"the mirror's {source} does not match its sha256 in conf/dataset ({expected[:12]}...): it is "
                    "corrupt or truncated; replace it in the mirror (or set dataset.source.mirror to a good copy)"
                )
            shutil.copyfile(source, target)  # a copy cut short is caught by `checked` before it is read
        return True

    def checked(self, key: str) -> Path:
        """The path of raw file `key` under root, which matches its sha256 if conf/dataset gives one."""
        path = self.root / self.files[key]
        if not path.exists():
            raise DataError(f"{path} is missing; run `python pipelines/fetch_data.py dataset=<name>` first")
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
