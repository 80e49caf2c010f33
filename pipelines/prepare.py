"""DVC stage `prepare`: check the raw MNIST files in data/ and write the train/val/test split for the jobs."""

from pathlib import Path

import torch

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors
from intrinsic_dim.mnist import prepare, raw_dir


def main() -> None:
    dataset = compose().dataset
    splits = prepare(raw_dir(Path(dataset.root)), dataset.sha256, dataset.validation_size, dataset.split_seed)
    Path(dataset.prepared).parent.mkdir(parents=True, exist_ok=True)
    torch.save(splits, dataset.prepared)
    print({split: len(labels) for split, (_, labels) in splits.items()})


if __name__ == "__main__":
    with one_line_errors("prepare"):
        main()
