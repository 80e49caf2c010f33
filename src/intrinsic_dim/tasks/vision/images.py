"""Lightning data module over a prepared image file (intrinsic_dim.datasets), held in memory."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from intrinsic_dim.errors import DataError

SPLITS = ("train", "val", "test")


class PreparedImages(L.LightningDataModule):
    """Images normalized per channel with the train mean/std of the prepared file; optionally the
    pixel-shuffled (one fixed permutation of pixel positions) or label-shuffled variants of Li et al. 2018."""

    def __init__(
        self,
        path: str,
        batch_size: int = 128,
        shuffle_pixels: bool = False,
        shuffle_labels: bool = False,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.batch_size = batch_size
        self.shuffle_pixels, self.shuffle_labels = shuffle_pixels, shuffle_labels
        self.seed = seed
        self.limit = limit  # first `limit` examples of each split: tiny real subsets for tests
        self.splits: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        if not self.path.is_file():
            raise DataError(
                f"prepared data {self.path} is missing; run `dvc repro prepare_{self.path.stem}` "
                f"(or python pipelines/prepare.py dataset={self.path.stem})"
            )
        prepared = torch.load(self.path)
        mean, std = (prepared[key].view(1, -1, 1, 1) for key in ("mean", "std"))
        generator = torch.Generator().manual_seed(self.seed)
        height, width = prepared["train"][0].shape[-2:]
        pixel_order = torch.randperm(height * width, generator=generator) if self.shuffle_pixels else None
        for split in SPLITS:
            images, labels = (tensor[: self.limit] for tensor in prepared[split])
            x = (images.float().div_(255) - mean) / std
            if pixel_order is not None:  # one permutation of positions for every image of every split
                x = x.flatten(2)[:, :, pixel_order].view_as(x)
            if self.shuffle_labels and split == "train":
                labels = labels[torch.randperm(len(labels), generator=generator)]
            self.splits[split] = TensorDataset(x, labels)

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        self.setup()
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle, generator=generator)

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")
