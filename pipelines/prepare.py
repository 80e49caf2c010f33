"""DVC stage `prepare`: check the raw MNIST files in data/ and write the train/val/test split for the jobs."""

import sys
from pathlib import Path

import torch

from intrinsic_dim.config import compose
from intrinsic_dim.mnist import DataError, prepare, raw_dir


def main() -> None:
    dataset = compose().dataset
    try:
        splits = prepare(raw_dir(Path(dataset.root)), dataset.sha256, dataset.validation_size, dataset.split_seed)
    except DataError as error:
        sys.exit(f"prepare: {error}")
    Path(dataset.prepared).parent.mkdir(parents=True, exist_ok=True)
    torch.save(splits, dataset.prepared)
    print({split: len(labels) for split, (_, labels) in splits.items()})


if __name__ == "__main__":
    main()
