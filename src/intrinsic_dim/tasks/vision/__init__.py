"""Image classification (Li et al. 2018): prepared image tensors, the FC, LeNet and ResNet networks, and several
subspace runs of one task trained together as one vectorized model."""

from omegaconf import DictConfig

from intrinsic_dim.tasks.classifying import Classifying
from intrinsic_dim.tasks.family import Built, RunContext, register


class Vision(Classifying):
    name = "vision"
    libraries = (*Classifying.libraries, "torchvision")

    def trains_together(self, cfg: DictConfig) -> bool:
        # random crops and flips would come from one generator shared by the runs' loaders
        return bool(cfg.task.get("train_together", True)) and not cfg.task.data.get("augment")

    def fit_group(self, cfgs: list[DictConfig], builts: list[Built], contexts: list[RunContext]) -> list[dict]:
        from intrinsic_dim.tasks.vision.together import fit_together

        return fit_together(cfgs, builts, contexts)


register(Vision())
