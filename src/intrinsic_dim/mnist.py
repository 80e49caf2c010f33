"""MNIST raw files: fetched from a local mirror or downloaded, checked, and split for the jobs."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

import torch
from torchvision.datasets import MNIST
from torchvision.datasets.mnist import read_image_file, read_label_file

from intrinsic_dim.errors import DataError

RAW_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}


def raw_dir(root: Path) -> Path:
    """Where torchvision keeps the raw files under `root`, so the same root works for torchvision itself."""
    return Path(root) / "MNIST" / "raw"


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for files in RAW_FILES.values() for name in files)


def fetch(root: Path, mirror: Path | None, download: bool) -> Path:
    """Put the four raw files under root/MNIST/raw: kept if there, else copied from a mirror, else downloaded."""
    target = raw_dir(root)
    if _complete(target):
        return target
    if mirror is not None and _complete(raw_dir(mirror)):
        target.mkdir(parents=True, exist_ok=True)
        for files in RAW_FILES.values():
            for name in files:
                shutil.copyfile(raw_dir(mirror) / name, target / name)
        return target
    if download:
        try:
            MNIST(str(root), train=True, download=True)
        except Exception as error:  # torchvision raises bare RuntimeError/URLError after trying its mirrors
            raise DataError(
                f"MNIST download failed ({type(error).__name__}); with no network, set dataset.mirror to a local "
                f"copy in torchvision's layout (a folder with MNIST/raw/), e.g. ../shared/data/mnist"
            ) from error
        return target
    raise DataError(
        f"MNIST not found in {target} or in mirror {mirror}; set dataset.mirror to a local copy with MNIST/raw/ "
        "(e.g. ../shared/data/mnist) or set dataset.download=true on a machine with network access"
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_split(directory: Path, split: str, expected_sha256: Mapping[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split, after checksum and shape checks."""
    images_file, labels_file = (Path(directory) / name for name in RAW_FILES[split])
    for path in (images_file, labels_file):
        expected = expected_sha256.get(path.name)
        if expected is not None and sha256(path) != expected:
            raise DataError(
                f"{path} does not match its sha256 in conf/dataset ({expected[:12]}...): it is corrupt or another "
                "copy; delete it and fetch again, or set its dataset.sha256 entry to null to accept this copy"
            )
    try:
        images, labels = read_image_file(str(images_file)), read_label_file(str(labels_file))
    except (AssertionError, RuntimeError, ValueError) as error:
        raise DataError(
            f"cannot read {images_file.name}/{labels_file.name} as IDX: {error}; fetch them again"
        ) from error
    if images.shape != (SPLIT_SIZES[split], 28, 28) or labels.shape != (SPLIT_SIZES[split],) or labels.max() > 9:
        raise DataError(f"MNIST {split} split has unexpected shape {tuple(images.shape)}; fetch the files again")
    return images, labels.long()


def prepare(directory: Path, expected_sha256: Mapping[str, str], validation_size: int, seed: int) -> dict:
    """Train/validation/test tensors; the validation split is carved from train with a fixed seed."""
    train_images, train_labels = load_split(directory, "train", expected_sha256)
    test_images, test_labels = load_split(directory, "test", expected_sha256)
    order = torch.randperm(len(train_labels), generator=torch.Generator().manual_seed(seed))
    validation, train = order[:validation_size], order[validation_size:]
    return {
        "train": (train_images[train], train_labels[train]),
        "val": (train_images[validation], train_labels[validation]),
        "test": (test_images, test_labels),
    }
