"""What every raw dataset source shares: checksums of its files and the train/validation/test split."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch

from intrinsic_dim.errors import DataError


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Source:
    """A dataset's raw files under `root`, as torchvision's `torchvision_class` downloads them or from a local
    `mirror`; subclasses fetch them and read one split as uint8 (N, C, H, W)."""

    def __init__(
        self,
        torchvision_class: str,
        root: str,
        mirror: str | None,
        download: bool,
        sha256: Mapping[str, str | None],
        validation_size: int,
        split_seed: int,
    ) -> None:
        self.torchvision_class = torchvision_class
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.download = download
        self.expected_sha256 = dict(sha256)
        self.validation_size = validation_size
        self.split_seed = split_seed

    def fetch(self) -> Path:
        raise NotImplementedError

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, C, H, W) uint8 and labels (N,) int64 of the raw "train" or "test" split."""
        raise NotImplementedError

    def check(self, path: Path, key: str | None = None) -> Path:
        """The path of a raw file that exists and matches its checksum in `sha256` (under `key`, or its name)."""
        if not path.is_file():
            raise DataError(f"{path} is missing; run `python pipelines/fetch_data.py dataset=<name>` first")
        key = key or path.name
        expected = self.expected_sha256.get(key)
        if expected is not None and sha256(path) != expected:
            raise DataError(
                f"{path} does not match its sha256 in conf/dataset ({expected[:12]}...): it is corrupt or another "
                "copy; delete it and fetch again, or set dataset.source.sha256.{key}=null to accept it"
            )
        return path

    def prepare(self) -> dict:
        """Train/validation/test tensors and the train split's per-channel mean and std.

        The validation split is carved from train with a fixed seed; the test split stays untouched.
        """
        train_images, train_labels = self.load_split("train")
        if not 0 < self.validation_size < len(train_labels):
            raise DataError(
                f"validation_size={self.validation_size} must be between 0 and the {len(train_labels)} training "
                "examples; change dataset.source.validation_size"
            )
        order = torch.randperm(len(train_labels), generator=torch.Generator().manual_seed(self.split_seed))
        validation, train = order[: self.validation_size], order[self.validation_size :]
        std, mean = torch.std_mean(train_images[train].float().div_(255), dim=(0, 2, 3))
        return {
            "train": (train_images[train], train_labels[train]),
            "val": (train_images[validation], train_labels[validation]),
            "test": self.load_split("test"),
            "mean": mean,
            "std": std,
        }
