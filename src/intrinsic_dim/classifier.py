"""One LightningModule for every supervised run: the full-space baseline and all subspace kinds."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from intrinsic_dim.subspace import SubspaceModel


class Classifier(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        kind: str = "none",
        d: int | None = None,
        projection_seed: int = 0,
        classes: int = 10,
    ) -> None:
        super().__init__()
        self.D = sum(p.numel() for p in net.parameters() if p.requires_grad)
        self.net = net if kind == "none" else SubspaceModel(net, kind, d, projection_seed)
        self.optimizer_factory = optimizer
        self.val_accuracy = MulticlassAccuracy(classes, average="micro")
        self.test_accuracy = MulticlassAccuracy(classes, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_index):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_index):
        x, y = batch
        self.val_accuracy(self(x), y)
        self.log("val/acc", self.val_accuracy, on_epoch=True, prog_bar=True)

    def test_step(self, batch, batch_index):
        x, y = batch
        self.test_accuracy(self(x), y)
        self.log("test/acc", self.test_accuracy, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
