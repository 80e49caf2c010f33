"""One supervised run: `python -m intrinsic_dim.train [overrides]` (Hydra), or train(cfg) from code."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig

from intrinsic_dim.classifier import Classifier
from intrinsic_dim.config import plain
from intrinsic_dim.errors import one_line_errors

log = logging.getLogger(__name__)
RESULT_FILE = "result.json"
CHECKPOINT_FILE = "model.ckpt"


def make_logger(cfg: DictConfig, output_dir: Path) -> Logger:
    """The configured logger; if it cannot start (W&B down, bad key), a CSV logger, never a failed run."""
    try:
        logger = hydra.utils.instantiate(cfg.logger)
        if hasattr(logger, "experiment"):
            logger.experiment  # noqa: B018 - W&B starts its run here; fail now rather than mid-training
        logger.log_hyperparams(plain(cfg))
        return logger
    except Exception as error:  # any logging backend failure must not cost the run
        warnings.warn(f"logger {cfg.logger.get('_target_')} failed ({error}); logging to CSV instead", stacklevel=2)
        return CSVLogger(str(output_dir), name="csv")


def finish_logging() -> None:
    """Close the W&B run even after a failure, so the next job of a multirun does not log into it."""
    try:
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception as error:  # a logging failure at the end must not hide the result
        log.warning("wandb.finish failed: %s", error)


def train(cfg: DictConfig) -> dict:
    """Fit, test, and write result.json (config, seeds, d, D, metrics) next to the final checkpoint."""
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.task.data)
    module = Classifier(
        net=hydra.utils.instantiate(cfg.task.model),
        optimizer=hydra.utils.instantiate(cfg.task.optimizer),
        kind=cfg.subspace.kind,
        d=cfg.subspace.d,
        projection_seed=cfg.subspace.seed,
    )
    logger = make_logger(cfg, output_dir)
    try:
        trainer = hydra.utils.instantiate(cfg.trainer, logger=logger, default_root_dir=str(output_dir))
        trainer.fit(module, datamodule=datamodule)
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        trainer.test(module, datamodule=datamodule, verbose=False)
        metrics.update({name: float(value) for name, value in trainer.callback_metrics.items()})
        trainer.save_checkpoint(output_dir / CHECKPOINT_FILE)
    finally:
        finish_logging()
    result = {
        "task": cfg.task.name,
        "kind": cfg.subspace.kind,
        "d": cfg.subspace.d,
        "D": module.D,
        "seed": cfg.seed,
        "projection_seed": cfg.subspace.seed,
        "metrics": metrics,
        "checkpoint": CHECKPOINT_FILE,
        "config": plain(cfg),
    }
    if trainer.is_global_zero:
        (output_dir / RESULT_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return result


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    with one_line_errors("train"):
        return train(cfg)["metrics"]["val/acc"]


if __name__ == "__main__":
    main()
