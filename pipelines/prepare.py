"""DVC stage `prepare`: check the raw files of every dataset the profile's tasks read and write each one's
train/validation/test split for the jobs into artifacts/prepared/ (images: one torch file; text: a
datasets.DatasetDict folder). The profile of conf/pipeline.yaml unless `profile=<name>` is given, or one
`dataset=<name>`.

`python pipelines/prepare.py [profile=quick | dataset=<name>]`
"""

import sys
from pathlib import Path

import datasets
import hydra
import torch

from intrinsic_dim.config import command_line_config, requested_datasets
from intrinsic_dim.errors import one_line_errors

if __name__ == "__main__":
    datasets.disable_progress_bars()  # one line per dataset, not a bar per file written
    with one_line_errors("prepare"):
        names, overrides = requested_datasets(sys.argv[1:])
        for name in names:
            dataset = command_line_config([*overrides, f"dataset={name}"], "data").dataset
            splits = hydra.utils.instantiate(dataset.source).prepare()
            Path(dataset.prepared).parent.mkdir(parents=True, exist_ok=True)
            if hasattr(splits, "save_to_disk"):  # text: a datasets.DatasetDict
                splits.save_to_disk(dataset.prepared)
                print(name, {split: len(rows) for split, rows in splits.items()}, "->", dataset.prepared)
            else:  # images: tensors of train, val and test
                torch.save(splits, dataset.prepared)
                print(
                    name, {split: len(splits[split][1]) for split in ("train", "val", "test")}, "->", dataset.prepared
                )
