"""Text classification with a pretrained transformer (Aghajanyan et al. 2020 on GLUE MRPC): DID and SAID."""

from omegaconf import DictConfig

from intrinsic_dim.tasks.classifying import Classifying
from intrinsic_dim.tasks.family import Built, RunContext, register


class Language(Classifying):
    name = "language"
    libraries = (*Classifying.libraries, "transformers", "tokenizers")

    def fit(self, cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
        from intrinsic_dim.tasks.language.finetune import fine_tune

        return fine_tune(cfg, built, context)


register(Language())
