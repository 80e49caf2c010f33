"""Datasets in the IDX layout of MNIST (MNIST, Fashion-MNIST, KMNIST, ...): fetch, check, split.

The raw files live where torchvision keeps them, <root>/<torchvision class name>/raw/, so torchvision's own
download writes them in place and a mirror in the same layout can stand in for it offline.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from hydra.utils import get_class
from torchvision.datasets.mnist import read_image_file, read_label_file

from intrinsic_dim.errors import DataError


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class IdxSource:
    def __init__(
        self,
        torchvision_class: str,
        root: str,
        mirror: str | None,
        download: bool,
        files: Mapping[str, Sequence[str]],
        sha256: Mapping[str, str | None],
        validation_size: int,
        split_seed: int,
    ) -> None:
        self.torchvision_class = torchvision_class
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.download = download
        self.files = {split: tuple(names) for split, names in files.items()}
        self.expected_sha256 = dict(sha256)
        self.validation_size = validation_size
        self.split_seed = split_seed

    def raw_dir(self, root: Path) -> Path:
        return Path(root) / self.torchvision_class.rsplit(".", 1)[-1] / "raw"

    def _complete(self, directory: Path) -> bool:
        return all((directory / name).is_file() for names in self.files.values() for name in names)

    def fetch(self) -> Path:
        """Put the raw files under root: kept if there, else copied from the mirror, else downloaded."""
        target = self.raw_dir(self.root)
        if self._complete(target):
            return target
        if self.mirror is not None and self._complete(self.raw_dir(self.mirror)):
            target.mkdir(parents=True, exist_ok=True)
            for names in self.files.values():
                for name in names:
                    shutil.copyfile(self.raw_dir(self.mirror) / name, target / name)
            return target
        if self.download:
            try:
                get_class(self.torchvision_class)(str(self.root), train=True, download=True)
            except Exception as error:  # torchvision raises bare RuntimeError/URLError after trying its mirrors
                raise DataError(
                    f"download failed ({type(error).__name__}); with no network, set dataset.source.mirror to a "
                    f"local copy with {self.raw_dir(Path('<mirror>'))}/ in it"
                ) from error
            return target
        raise DataError(
            f"raw files not found in {target} nor in the mirror {self.mirror}; set dataset.source.mirror to a local "
            f"copy (with {self.raw_dir(Path('<mirror>'))}/ in it) or set dataset.source.download=true with a network"
        )

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 1, H, W) uint8 and labels (N,) int64 of one raw split, after checksum and shape checks."""
        directory = self.raw_dir(self.root)
        paths = [directory / name for name in self.files[split]]
        for path in paths:
            if not path.is_file():
                raise DataError(f"{path} is missing; run `python pipelines/fetch_data.py dataset=<name>` first")
            expected = self.expected_sha256.get(path.name)
            if expected is not None and sha256(path) != expected:
                raise DataError(
                    f"{path} does not match its sha256 in conf/dataset ({expected[:12]}...): it is corrupt or another "
                    "copy; delete it and fetch again, or set its dataset.source.sha256 entry to null to accept it"
                )
        try:
            images, labels = read_image_file(str(paths[0])), read_label_file(str(paths[1]))
        except (AssertionError, RuntimeError, ValueError) as error:
            raise DataError(
                f"cannot read {paths[0].name}/{paths[1].name} as IDX ({error}); fetch them again"
            ) from error
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise DataError(
                f"{split} split: {tuple(images.shape)} images for {tuple(labels.shape)} labels; fetch the files again"
            )
        return images.unsqueeze(1), labels.long()

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
