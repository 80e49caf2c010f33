"""What every image dataset source shares: where its raw files are, and the train/validation/test split."""

from __future__ import annotations

import abc
from pathlib import Path

import torch

from intrinsic_dim.errors import DataError

RAW_SPLITS = ("train", "test")  # the validation split is carved from train


class ImageSource(abc.ABC):
    """A dataset's raw files under `root` (copied from a local `mirror`, or downloaded when `download`), read one
    raw split at a time as uint8 images (N, C, H, W) and int64 labels (N,)."""

    def __init__(self, root: str, mirror: str | None, download: bool, validation_size: int, split_seed: int) -> None:
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.download = download
        self.validation_size = validation_size
        self.split_seed = split_seed

    @abc.abstractmethod
    def fetch(self) -> Path:
        """Put the raw files under root (kept if there, else from the mirror, else downloaded); where they are."""

    @abc.abstractmethod
    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, C, H, W) uint8 and labels (N,) int64 of the raw "train" or "test" split."""

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
