import os

# No network here or in CI: fail fast instead of retrying hub downloads, and keep W&B local.
for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402
import torch  # noqa: E402

from intrinsic_dim import kernels  # noqa: E402


@pytest.fixture(params=["compiled", "torch_ops"])
def implementation(request, monkeypatch):
    """Run a test on the compiled CPU kernels and on the torch-ops versions that GPUs use."""
    if request.param == "torch_ops":
        monkeypatch.setattr(kernels, "compiled_kernels_available", lambda: False)
    return request.param


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
