"""Classification runs of one task trained together: one Lightning loop, one vmapped model.

Each run keeps what makes it that run: its seed (so its theta_0, P and the order of its training batches,
drawn by its own seeded loader over one shared copy of the examples), its subspace and learning rate.
Training steps all runs at once on their own batches; validation passes each shared batch through all runs.
The group's loss is the sum of the runs' losses and the optimizer has one parameter group per run, so each
run steps as it would alone. The engine evaluates each trained run alone afterwards.
"""

from __future__ import annotations

import functools
import re

import hydra
import torch
from lightning.pytorch.loggers import Logger, WandbLogger
from lightning.pytorch.utilities import CombinedLoader
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torchmetrics import MetricCollection

from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.core.vectorized import VectorizedRuns
from intrinsic_dim.errors import BadInput
from intrinsic_dim.tasks.classification import Evaluating, computed, loggers, split_batch
from intrinsic_dim.tasks.family import Built, RunContext

RUN_METRIC = re.compile(r"run\d+/")  # a metric of one run of the group


class VectorizedClassifier(Evaluating):
    def __init__(self, runs: VectorizedRuns, optimizers: list[functools.partial], metrics: list[MetricCollection],
                 scheduler=None) -> None:  # fmt: skip
        super().__init__()
        self.runs = runs
        self.optimizers_of_runs, self.scheduler_factory = optimizers, scheduler
        self.metrics = nn.ModuleList(metrics)
        self.eval_split = "val"
        # summed per epoch on the device and logged at its end, as Classifier does
        self.register_buffer("loss_sums", torch.zeros(len(runs.runs)), persistent=False)
        self.examples = 0

    def training_step(self, batches, batch_index):
        inputs, labels = zip(*[split_batch(batch)[::2] for batch in batches], strict=True)
        outputs = self.runs(torch.stack([args[0] for args in inputs]))
        losses = torch.stack([nn.functional.cross_entropy(output, label)
                              for output, label in zip(outputs, labels, strict=True)])  # fmt: skip
        self.loss_sums += losses.detach() * len(labels[0])
        self.examples += len(labels[0])
        return losses.sum()

    def on_train_epoch_end(self) -> None:  # the mean over the epoch's examples, as Classifier logs it
        self.log_dict({f"run{run}/train/loss": total / self.examples for run, total in enumerate(self.loss_sums)})
        self.loss_sums.zero_()
        self.examples = 0

    def _evaluate(self, batch) -> None:
        (inputs, *_), _, labels = split_batch(batch)
        for output, metrics in zip(self.runs(inputs, shared=True), self.metrics, strict=True):
            metrics.update(output, labels)

    def _log_evaluation(self) -> None:
        for run, metrics in enumerate(self.metrics):
            self.log_dict(computed(metrics, f"run{run}/{self.eval_split}"))

    def configure_optimizers(self):
        kinds = {partial.func for partial in self.optimizers_of_runs}
        if len(kinds) != 1:
            raise BadInput("runs trained together must share one optimizer class; train them one by one")
        groups = [{"params": list(run.parameters()), **partial.keywords}
                  for run, partial in zip(self.runs.runs, self.optimizers_of_runs, strict=True)]  # fmt: skip
        optimizer = kinds.pop()(groups)
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer)}}


def check_group(cfgs: list[DictConfig]) -> None:
    """Runs trained together may differ in seed, subspace and rate, not in what the loop or evaluation does."""

    def shared(cfg: DictConfig) -> dict:
        task = OmegaConf.to_container(cfg.task, resolve=True)
        task["data"].pop("seed"), task.pop("optimizer")
        return task

    if any(shared(cfg) != shared(cfgs[0]) for cfg in cfgs[1:]):
        raise BadInput("runs trained together must share their task settings (all but seed, subspace and rate)")


class OwnMetrics(Logger):
    """One run's logger in a group: only its own metrics (`run<r>/...`), under the names it logs when alone."""

    def __init__(self, logger: Logger, run: int) -> None:
        super().__init__()
        self.logger, self.prefix = logger, f"run{run}/"

    name = property(lambda self: self.logger.name)
    version = property(lambda self: self.logger.version)
    save_dir = property(lambda self: self.logger.save_dir)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        own = {name.removeprefix(self.prefix): value for name, value in metrics.items()
               if name.startswith(self.prefix) or not RUN_METRIC.match(name)}  # fmt: skip
        self.logger.log_metrics(own, step)

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        self.logger.log_hyperparams(params, *args, **kwargs)

    def save(self) -> None:
        self.logger.save()

    def finalize(self, status: str) -> None:
        self.logger.finalize(status)


def group_loggers(contexts: list[RunContext]) -> list[Logger]:
    """Each run's W&B run gets that run's curves; without W&B, one CSV log of the group."""
    if all(context.wandb_run is not None for context in contexts):
        return [OwnMetrics(WandbLogger(experiment=context.wandb_run), run) for run, context in enumerate(contexts)]
    return loggers(contexts[0])


def fit_together(cfgs: list[DictConfig], builts: list[Built], contexts: list[RunContext]) -> list[dict[str, float]]:
    """`classification.fit` for runs of one task, as one vectorized model: each run's mean training loss over its
    last epoch, in order; each `built.model` is left trained."""
    check_group(cfgs)
    if not all(isinstance(built.model, SubspaceModel) for built in builts):
        raise BadInput("only subspace runs are trained together; full-space baselines run one by one")
    first = cfgs[0]
    module = VectorizedClassifier(
        VectorizedRuns([built.model for built in builts]),
        optimizers=[hydra.utils.instantiate(cfg.task.optimizer) for cfg in cfgs],
        metrics=[MetricCollection(dict(hydra.utils.instantiate(cfg.task.metrics))) for cfg in cfgs],
        scheduler=hydra.utils.instantiate(first.task.scheduler) if first.task.scheduler else None,
    )
    # the runs' data differ only in the order of training batches: one copy of the examples, one pass to validate
    shared = builts[0].data
    for built in builts[1:]:  # and one copy for each run's evaluation after this
        built.data = shared
    trainer = hydra.utils.instantiate(
        first.task.trainer, logger=group_loggers(contexts), default_root_dir=str(contexts[0].log_dir)
    )
    orders = [shared.loader("train", shuffle=True, seed=cfg.task.data.seed) for cfg in cfgs]
    trainer.fit(module, train_dataloaders=CombinedLoader(orders, "min_size"), val_dataloaders=shared.val_dataloader())
    return [{"train/loss": float(trainer.callback_metrics[f"run{run}/train/loss"])} for run in range(len(cfgs))]
