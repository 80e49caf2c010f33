"""Lightning data module over a prepared split file (see pipelines/prepare.py), held in memory."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from intrinsic_dim.errors import DataError


class PreparedImages(L.LightningDataModule):
    """Normalized images; optionally the pixel-shuffled or label-shuffled variants of Li et al. 2018."""

    def __init__(
        self,
        path: str,
        batch_size: int = 128,
        mean: float = 0.1307,
        std: float = 0.3081,
        shuffle_pixels: bool = False,
        shuffle_labels: bool = False,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.batch_size = batch_size
        self.mean, self.std = mean, std
        self.shuffle_pixels, self.shuffle_labels = shuffle_pixels, shuffle_labels
        self.seed = seed
        self.limit = limit  # first `limit` examples of each split: tiny real subsets for tests
        self.splits: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        if not self.path.is_file():
            raise DataError(f"prepared data {self.path} is missing; run `dvc repro prepare` (or pipelines/prepare.py)")
        generator = torch.Generator().manual_seed(self.seed)
        raw = torch.load(self.path)
        pixel_order = torch.randperm(raw["train"][0][0].numel(), generator=generator) if self.shuffle_pixels else None
        for split, (images, labels) in raw.items():
            images, labels = images[: self.limit], labels[: self.limit]
            x = (images.float().div_(255) - self.mean) / self.std
            if pixel_order is not None:  # one fixed permutation for every image of every split
                x = x.flatten(1)[:, pixel_order].view_as(x)
            if self.shuffle_labels and split == "train":
                labels = labels[torch.randperm(len(labels), generator=generator)]
            self.splits[split] = TensorDataset(x.unsqueeze(1), labels)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle, generator=generator)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
