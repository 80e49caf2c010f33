"""DVC stage `prepare_<dataset>`: check the raw files and write the train/validation/test split for the jobs.

`python pipelines/prepare.py dataset=<name>` (images: one torch file; text: a datasets.DatasetDict folder)
"""

import sys
from pathlib import Path

import hydra
import torch

from intrinsic_dim.config import compose
from intrinsic_dim.errors import one_line_errors

if __name__ == "__main__":
    with one_line_errors("prepare"):
        dataset = compose(sys.argv[1:], config_name="data").dataset
        splits = hydra.utils.instantiate(dataset.source).prepare()
        Path(dataset.prepared).parent.mkdir(parents=True, exist_ok=True)
        if hasattr(splits, "save_to_disk"):  # text: a datasets.DatasetDict of train and val
            splits.save_to_disk(dataset.prepared)
            print({split: len(pairs) for split, pairs in splits.items()}, "->", dataset.prepared)
        else:  # images: tensors of train, val and test
            torch.save(splits, dataset.prepared)
            print({split: len(splits[split][1]) for split in ("train", "val", "test")}, "->", dataset.prepared)
