from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.classification import MulticlassAccuracy

from intrinsic_dim import SubspaceModel
from intrinsic_dim.tasks.classification import Classifier


class Regression(L.LightningModule):
    def __init__(self, kind: str, d: int, seed: int) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.model = SubspaceModel(nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1)), kind, d, seed)

    def training_step(self, batch, batch_index):
        x, y = batch
        loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=3e-2)


def regression_data() -> DataLoader:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(512, 8, generator=generator)
    y = x[:, :1] - 0.5 * x[:, 1:2]
    return DataLoader(TensorDataset(x, y), batch_size=64)


@pytest.mark.parametrize("kind", ["fastfood", "said"])
def test_fit_and_restore_from_lightning_checkpoint(kind, tmp_path):
    module = Regression(kind, d=40, seed=3)
    data = regression_data()
    x, y = next(iter(data))
    theta_0 = module.model.theta_0.clone()
    initial_loss = nn.functional.mse_loss(module.model(x), y).item()

    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=8,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(module, data)
    assert trainer.callback_metrics["train/loss"].item() < 0.5 * initial_loss
    assert torch.equal(module.model.theta_0, theta_0)

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    restored = Regression.load_from_checkpoint(tmp_path / "last.ckpt")
    with torch.no_grad():
        assert torch.equal(restored.model(x), module.model(x))


class KeywordNet(nn.Module):
    """Takes keyword inputs and returns an object with .logits, as Hugging Face models do."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, features):
        return SimpleNamespace(logits=self.linear(features))


def test_classifier_reads_dict_batches_with_labels(tmp_path):
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(256, 4, generator=generator)
    labels = features[:, :3].argmax(1)  # a linearly separable task
    rows = [{"features": x, "labels": y} for x, y in zip(features, labels, strict=True)]
    torch.manual_seed(0)
    module = Classifier(
        KeywordNet(),
        optimizer=lambda parameters: torch.optim.Adam(parameters, lr=0.1),
        metrics={"acc": MulticlassAccuracy(3, average="micro")},
    )
    trainer = L.Trainer(accelerator="cpu", max_epochs=10, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(module, DataLoader(rows, batch_size=32, shuffle=True), DataLoader(rows, batch_size=64))
    assert trainer.callback_metrics["val/acc"] > 0.9
