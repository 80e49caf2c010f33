"""Lightning data module over a prepared image file (intrinsic_dim.datasets), held in memory."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.transforms import v2

from intrinsic_dim.errors import BadInput, DataError
from intrinsic_dim.tasks.loading import loader_settings

SPLITS = ("train", "val", "test")


def pixel_permutation(height: int, width: int, seed: int) -> torch.Tensor:
    """One fixed order of the pixel positions (Li et al.'s shuffled pixels), the same for every split."""
    return torch.randperm(height * width, generator=torch.Generator().manual_seed(seed))


def shuffle_label_fraction(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Labels with exactly round(fraction * N) examples, chosen at random, given a random permutation of their labels.

    Permuting among the chosen keeps the class counts (as Li et al.'s shuffled labels do); 1.0 shuffles all.
    """
    if not 0 <= fraction <= 1:
        raise BadInput(f"task.data.shuffle_labels={fraction} must be a fraction between 0 and 1")
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(labels), generator=generator)[: round(fraction * len(labels))]
    shuffled = labels.clone()
    shuffled[chosen] = labels[chosen[torch.randperm(len(chosen), generator=generator)]]
    return shuffled


class Augmented(Dataset):
    """Normalized image tensors with a random torchvision transform applied to each example as it is drawn."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: v2.Transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


class InMemory(TensorDataset):
    """Tensors in memory, read a batch at a time: one indexing per batch instead of a collate of 128 items."""

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        return [tensor[indices] for tensor in self.tensors]


def already_batched(batch: list[torch.Tensor]) -> list[torch.Tensor]:
    return batch


class PreparedImages(L.LightningDataModule):
    """Images normalized per channel with the train mean/std of the prepared file, with the variants of Li et al.
    2018 (shuffled pixels, shuffled labels: one fixed permutation drawn from `shuffle_seed`, whatever the run's
    seed) and an optional augmentation of the training split (random crop with padding, horizontal flip)."""

    def __init__(
        self,
        path: str,
        batch_size: int = 128,
        shuffle_pixels: bool = False,
        shuffle_labels: float = 0.0,
        shuffle_seed: int = 0,
        augment: bool = False,
        seed: int = 0,
        train_examples: int | None = None,
        limit: int | None = None,
        workers: int = 0,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.batch_size = batch_size
        self.shuffle_pixels, self.shuffle_labels = shuffle_pixels, float(shuffle_labels)
        self.shuffle_seed = shuffle_seed
        self.augment = augment
        self.seed = seed  # the order of training batches
        self.train_examples = train_examples  # a fixed subset of the training split (the first N)
        self.limit = limit  # first `limit` examples of each split: tiny real subsets for tests
        self.workers = workers
        self.splits: dict[str, Dataset] = {}
        if not self.path.is_file():  # checked when the run is built, before any logger starts
            raise DataError(
                f"prepared data {self.path} is missing; run `dvc repro prepare` "
                f"(or python pipelines/prepare.py dataset={self.path.stem})"
            )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        prepared = torch.load(self.path)
        mean, std = prepared["mean"].tolist(), prepared["std"].tolist()
        normalize = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])
        height, width = prepared["train"][0].shape[-2:]
        order = pixel_permutation(height, width, self.shuffle_seed) if self.shuffle_pixels else None
        for split in SPLITS:
            images, labels = prepared[split]
            if split == "train" and self.train_examples is not None:
                images, labels = images[: self.train_examples], labels[: self.train_examples]
            images, labels = images[: self.limit], labels[: self.limit]
            x = normalize(images)
            if order is not None:
                x = x.flatten(2)[:, :, order].view_as(x)
            if split == "train" and self.shuffle_labels:
                labels = shuffle_label_fraction(labels, self.shuffle_labels, self.shuffle_seed)
            if split == "train" and self.augment:
                padding = height // 8
                transform = v2.Compose([v2.RandomCrop((height, width), padding=padding), v2.RandomHorizontalFlip()])
                self.splits[split] = Augmented(x, labels, transform)
            else:
                self.splits[split] = InMemory(x, labels)

    def loader(self, split: str, shuffle: bool = False, seed: int | None = None) -> DataLoader:
        """The batches of `split`; shuffled, in the order drawn from `seed` (default: this module's)."""
        self.setup()
        generator = torch.Generator().manual_seed(self.seed if seed is None else seed) if shuffle else None
        dataset = self.splits[split]
        collate = already_batched if isinstance(dataset, InMemory) else None
        return DataLoader(dataset, self.batch_size, shuffle=shuffle, generator=generator, collate_fn=collate,
                          **loader_settings(self.workers))  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")
