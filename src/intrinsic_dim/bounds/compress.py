"""Compress a trained subspace model: quantize theta_d to a codebook, fine-tune codebook and theta_d through the
quantizer on the training split (Lightning), then range-code the symbols. The model left behind is the decoded one.
"""

from __future__ import annotations

import hydra
import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig
from torch.nn.utils import parametrize

from intrinsic_dim.bounds.description import Message
from intrinsic_dim.bounds.quantize import NearestLevel, kmeans_levels, quantize, uniform_levels
from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.tasks.classification import Classifier

QUANTIZERS = {"kmeans": kmeans_levels, "uniform": uniform_levels}


def compact(symbols: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The symbols renumbered over the levels in use only: an unused level would cost 32 bits for nothing."""
    used = np.unique(symbols)
    renumber = np.zeros(len(levels), dtype=np.int64)
    renumber[used] = np.arange(len(used))
    return renumber[symbols], levels[used]


def classifier(model: torch.nn.Module, cfg: DictConfig, lr: float | None = None) -> Classifier:
    """The run's own LightningModule: its optimizer (at `lr`, or the run's learning rate) and its metrics."""
    optimizer = hydra.utils.instantiate(cfg.task.optimizer, **({} if lr is None else {"lr": lr}))
    return Classifier(model, optimizer=optimizer, metrics=hydra.utils.instantiate(cfg.task.metrics))


def compress(
    model: SubspaceModel, data: L.LightningDataModule, cfg: DictConfig, levels: int, quantizer: str, epochs: int,
    lr: float | None, trainer: DictConfig,
) -> Message:  # fmt: skip
    """Quantize `model.theta_d` in place to `levels` values, fine-tuned `epochs` epochs; the coded result.

    `cfg` is the run's own config (its optimizer and metrics); `lr` the fine-tune's learning rate (None: the
    run's); `trainer` the Lightning trainer settings of the fine-tune.
    """
    values = model.theta_d.detach().cpu().numpy()
    quantizer_of = NearestLevel(QUANTIZERS[quantizer](values, levels))
    if epochs:
        parametrize.register_parametrization(model, "theta_d", quantizer_of)
        module = classifier(model, cfg, lr)
        fit = hydra.utils.instantiate(trainer, max_epochs=epochs, logger=False, enable_checkpointing=False)
        fit.fit(module, train_dataloaders=data.loader("train", shuffle=True))
        parametrize.remove_parametrizations(model, "theta_d", leave_parametrized=False)
    codebook = np.sort(quantizer_of.levels.detach().cpu().numpy().astype(np.float32))  # fine-tuning may reorder
    message = Message.of(*compact(quantize(model.theta_d.detach().cpu().numpy(), codebook), codebook))
    with torch.no_grad():  # the model from here on is exactly what a decoder rebuilds from the message
        model.theta_d.copy_(torch.from_numpy(message.values()))
    return message
