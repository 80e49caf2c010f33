"""DataLoader settings that the data modules share: who makes the batches, and in what memory."""

from __future__ import annotations

import torch


def loader_settings(workers: int) -> dict:
    """`workers` loader processes (0: this one), kept from epoch to epoch, and batches in pinned memory when a
    CUDA device is present, so that the copy to it does not wait on the host."""
    return {"num_workers": workers, "persistent_workers": workers > 0, "pin_memory": torch.cuda.is_available()}
