"""DVC stage `prepare_<dataset>`: check the raw files and write the train/validation/test split for the jobs.

`python pipelines/prepare.py dataset=<name>`
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
        torch.save(splits, dataset.prepared)
        print({split: len(splits[split][1]) for split in ("train", "val", "test")}, "->", dataset.prepared)
