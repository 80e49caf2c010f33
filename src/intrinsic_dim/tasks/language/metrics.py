"""Classification metrics fed with logits, beside torchmetrics' own: F1 of the positive class, majority-class rate."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.classification import BinaryF1Score


class PositiveClassF1(BinaryF1Score):
    """F1 of class 1 (GLUE's F1 on MRPC) from (N, 2) logits."""

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        super().update(logits.argmax(-1), labels)


class MajorityClassRate(Metric):
    """The accuracy of always answering the split's most frequent label: what a low-d accuracy is read against."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.counts += torch.bincount(labels, minlength=self.counts.numel())

    def compute(self) -> torch.Tensor:
        return self.counts.max() / self.counts.sum()
