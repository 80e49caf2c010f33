"""The part of a family that classifies with Lightning (intrinsic_dim.tasks.classification), light to import."""

from omegaconf import DictConfig

from intrinsic_dim.tasks.family import Built, Family, RunContext


class Classifying(Family):
    """Build the data module and the net, fit with cross-entropy, measure `task.metrics` on `task.evaluate`."""

    libraries = (*Family.libraries, "torchmetrics")

    def build(self, cfg: DictConfig) -> Built:
        from intrinsic_dim.tasks import classification

        return classification.build(cfg)

    def fit(self, cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
        from intrinsic_dim.tasks import classification

        return classification.fit(cfg, built, context)

    def evaluate(self, cfg: DictConfig, built: Built, splits: list[str]) -> dict[str, float]:
        from intrinsic_dim.tasks import classification

        return classification.evaluate(cfg, built, splits)

    def reports(self, cfg: DictConfig) -> list[str]:
        return ["train/loss", *(f"{split}/{name}" for split in cfg.task.evaluate for name in cfg.task.metrics)]
