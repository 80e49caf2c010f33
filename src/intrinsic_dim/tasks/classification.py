"""Supervised classification with Lightning, shared by the families that classify (images, text).

The LightningModule takes the network (already wrapped in its subspace, or not), the optimizer and the
scheduler from config, and reads batches either as (inputs, labels) tuples or as dicts with a "labels" entry
(the form Hugging Face models take as keyword arguments). A data module gives `loader(split, shuffle=False)`
for every split it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import hydra
import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from omegaconf import DictConfig
from torch import nn
from torchmetrics import Metric, MetricCollection

from intrinsic_dim.tasks.family import Built, RunContext, in_subspace


def split_batch(batch) -> tuple[tuple, dict, torch.Tensor]:
    """(positional inputs, keyword inputs, labels) of a tuple batch or of a dict batch with "labels"."""
    if isinstance(batch, Mapping):
        inputs = dict(batch)
        return (), inputs, inputs.pop("labels")
    *inputs, labels = batch
    return tuple(inputs), {}, labels


def computed(metrics: MetricCollection, prefix: str) -> dict[str, torch.Tensor]:
    """The metrics over the whole pass, named <prefix>/<name>, and reset for the next pass."""
    values = {f"{prefix}/{name}": value for name, value in metrics.compute().items()}
    metrics.reset()
    return values


class Evaluating(L.LightningModule):
    """Validation and test passes that update metrics per batch (`_evaluate`) and log them once at the end
    (`_log_evaluation`): a Lightning log call per step costs as much as a subspace step of a small net."""

    def validation_step(self, batch, batch_index):
        self._evaluate(batch)

    def test_step(self, batch, batch_index):
        self._evaluate(batch)

    def on_validation_epoch_end(self) -> None:
        self._log_evaluation()

    def on_test_epoch_end(self) -> None:
        self._log_evaluation()


class Classifier(Evaluating):
    """Cross-entropy training; the loss summed over each epoch and logged once at its end, as the metrics."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        metrics: Mapping[str, Metric],
        scheduler: Callable | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.metrics = MetricCollection(dict(metrics))
        self.eval_split = "val"  # the prefix of what validation_step and test_step log
        self.register_buffer("loss_sum", torch.zeros(()), persistent=False)  # on the device: no sync per step
        self.examples = 0

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """Class logits, from a plain network or a Hugging Face model's output."""
        output = self.net(*args, **kwargs)
        return getattr(output, "logits", output)

    def training_step(self, batch, batch_index):
        args, kwargs, labels = split_batch(batch)
        loss = nn.functional.cross_entropy(self(*args, **kwargs), labels)
        self.loss_sum += loss.detach() * len(labels)
        self.examples += len(labels)
        return loss

    def on_train_epoch_end(self) -> None:  # the mean over the epoch's examples
        self.log("train/loss", self.loss_sum / self.examples)
        self.loss_sum.zero_()
        self.examples = 0

    def _evaluate(self, batch) -> None:
        args, kwargs, labels = split_batch(batch)
        self.metrics.update(self(*args, **kwargs), labels)

    def _log_evaluation(self) -> None:
        self.log_dict(computed(self.metrics, self.eval_split))

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer)}}


def loggers(context: RunContext) -> list[Logger]:
    if context.wandb_run is not None:
        return [WandbLogger(experiment=context.wandb_run)]
    return [CSVLogger(str(context.log_dir), name="csv")]


def build(cfg: DictConfig) -> Built:
    """The run's data module and its network in its subspace, in this order (the order of the random draws)."""
    data = hydra.utils.instantiate(cfg.task.data)
    return Built(data, in_subspace(hydra.utils.instantiate(cfg.task.model), cfg.subspace))


def module(cfg: DictConfig, net: nn.Module, kind: type[Classifier] = Classifier) -> Classifier:
    """The run's LightningModule around `net`: its optimizer, scheduler and metrics."""
    return kind(
        net,
        optimizer=hydra.utils.instantiate(cfg.task.optimizer),
        metrics=hydra.utils.instantiate(cfg.task.metrics),
        scheduler=hydra.utils.instantiate(cfg.task.scheduler) if cfg.task.scheduler else None,
    )


def trainer(cfg: DictConfig, context: RunContext | None) -> L.Trainer:
    """The run's Lightning trainer (cfg.task.trainer), logging to the run's W&B run or CSV; without a context, a
    silent one for measuring (no logger, no bars: the run's metrics are stored and logged once, by the engine)."""
    if context is None:
        silent = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
                  "enable_model_summary": False}  # fmt: skip
        return hydra.utils.instantiate(cfg.task.trainer, **silent)
    return hydra.utils.instantiate(cfg.task.trainer, logger=loggers(context), default_root_dir=str(context.log_dir))


def evaluate(cfg: DictConfig, built: Built, splits: list[str]) -> dict[str, float]:
    """Every metric of `cfg.task.metrics` on each split, as `<split>/<name>`."""
    evaluation = module(cfg, built.model)
    tester = trainer(cfg, None)
    metrics = {}
    for split in splits:
        evaluation.eval_split = split
        tester.test(evaluation, dataloaders=built.data.loader(split), verbose=False)
        metrics.update({name: float(value) for name, value in tester.callback_metrics.items()
                        if name.startswith(f"{split}/")})  # fmt: skip
    return metrics


def fit(cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
    """Fit on train, validating each epoch; the last epoch's mean training loss."""
    classifier = module(cfg, built.model)
    fitter = trainer(cfg, context)
    fitter.fit(classifier, datamodule=built.data)
    return {"train/loss": float(fitter.callback_metrics["train/loss"])}
