"""Fine-tuning a sequence classifier, in full or in a subspace, with a per-step schedule (linear warmup and decay
over the run's optimizer steps)."""

from __future__ import annotations

from omegaconf import DictConfig
from transformers import get_linear_schedule_with_warmup

from intrinsic_dim.tasks import classification
from intrinsic_dim.tasks.family import Built, RunContext


class FineTuner(classification.Classifier):
    """A Classifier whose scheduler is built with the run's total optimizer steps and stepped after each one."""

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        schedule = self.scheduler_factory(optimizer, num_training_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def fine_tune(cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
    """Fine-tune on train (no validation on the way: the metrics are measured once, at the end)."""
    tuner = classification.module(cfg, built.model, FineTuner)
    fitter = classification.trainer(cfg, context)
    fitter.fit(tuner, train_dataloaders=built.data.loader("train", shuffle=True))
    return {"train/loss": float(fitter.callback_metrics["train/loss"])}


def linear_warmup(optimizer, warmup_fraction: float, num_training_steps: int):
    """Linear warmup over the first `warmup_fraction` of the steps, then linear decay to 0 (Aghajanyan et al.)."""
    return get_linear_schedule_with_warmup(optimizer, round(warmup_fraction * num_training_steps), num_training_steps)
