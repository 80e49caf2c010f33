"""The job of the language tasks: fine-tune a sequence classifier, in full or in a subspace, with a per-step
schedule (linear warmup and decay over the run's optimizer steps)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from transformers import get_linear_schedule_with_warmup

from intrinsic_dim.job import JobOutput, RunContext, in_subspace
from intrinsic_dim.tasks.supervised import Classifier, loggers


class FineTuner(Classifier):
    """A Classifier whose scheduler is built with the run's total optimizer steps and stepped after each one."""

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        schedule = self.scheduler_factory(optimizer, num_training_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def fine_tune(cfg: DictConfig, context: RunContext) -> JobOutput:
    """Fine-tune on train, then measure the metrics on every split in `task.evaluate` once, at the end."""
    data = hydra.utils.instantiate(cfg.task.data)
    net = in_subspace(hydra.utils.instantiate(cfg.task.model), cfg.subspace)
    module = FineTuner(
        net,
        optimizer=hydra.utils.instantiate(cfg.task.optimizer),
        metrics=hydra.utils.instantiate(cfg.task.metrics),
        scheduler=hydra.utils.instantiate(cfg.task.scheduler) if cfg.task.scheduler else None,
    )
    trainer = hydra.utils.instantiate(cfg.task.trainer, logger=loggers(context), default_root_dir=str(context.log_dir))
    trainer.fit(module, train_dataloaders=data.loader("train", shuffle=True))
    metrics = {}
    for split in cfg.task.evaluate:
        module.eval_split = split
        trainer.test(module, dataloaders=data.loader(split), verbose=False)
        metrics.update(
            {name: float(value) for name, value in trainer.callback_metrics.items() if name.startswith(f"{split}/")}
        )
    return JobOutput(metrics=metrics, model=module.net)


def linear_warmup(optimizer, warmup_fraction: float, num_training_steps: int):
    """Linear warmup over the first `warmup_fraction` of the steps, then linear decay to 0 (Aghajanyan et al.)."""
    return get_linear_schedule_with_warmup(optimizer, round(warmup_fraction * num_training_steps), num_training_steps)
