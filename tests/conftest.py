import os

# No network here or in CI: fail fast instead of retrying hub downloads, and keep W&B local.
for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("WANDB_MODE", "offline")

from pathlib import Path  # noqa: E402

import hydra  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import CIFAR_MIRROR, MNIST_MIRROR, MRPC_MIRROR, mrpc_source  # noqa: E402
from intrinsic_dim.config import compose  # noqa: E402
from intrinsic_dim.core import kernels  # noqa: E402
from intrinsic_dim.datasets.image_folders import read_images  # noqa: E402


def _share_the_cores_between_workers() -> None:
    """Each pytest-xdist worker gets its part of the cores, for its own torch and for the processes it starts.

    torch jobs side by side on shared cores spin against each other (10-30x slower). A worker with several
    cores is kept to them, and the studies it runs size their parallel jobs to that part. Kept to one core, a
    two-process study would become a one-process one: a worker's part of one core instead means one thread, for
    it and its children (a study's parallel processes get one thread each on two cores anyway).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return
    cores = sorted(os.sched_getaffinity(0))
    index, workers = int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    part = cores[index * len(cores) // workers : (index + 1) * len(cores) // workers]
    if len(part) > 1:
        os.sched_setaffinity(0, part)
    else:
        os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(max(1, len(part)))


_share_the_cores_between_workers()


@pytest.fixture(params=["compiled", "torch_ops"])
def implementation(request, monkeypatch):
    """Run a test on the compiled CPU kernels and on the torch-ops versions that GPUs use."""
    if request.param == "torch_ops":
        monkeypatch.setattr(kernels, "compiled_kernels_available", lambda: False)
    return request.param


@pytest.fixture(scope="session")
def prepared_subset(tmp_path_factory) -> Path:
    """The first 512 real MNIST examples of each split, prepared as the pipeline prepares them."""
    if not MNIST_MIRROR.is_dir():
        pytest.skip("no local MNIST mirror")
    source = compose([f"dataset.source.root={MNIST_MIRROR}"], config_name="data").dataset.source
    splits = hydra.utils.instantiate(source).prepare()
    subset = {name: (splits[name][0][:512], splits[name][1][:512]) for name in ("train", "val", "test")}
    path = tmp_path_factory.mktemp("prepared") / "mnist.pt"
    torch.save({**subset, "mean": splits["mean"], "std": splits["std"]}, path)
    return path


def pytest_collection_modifyitems(config, items):
    # Slow tests first: pytest-xdist hands out the first tests in turn, so the long ones spread over the
    # workers and the short ones fill the gaps at the end.
    items.sort(key=lambda item: "slow" not in item.keywords)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cifar_subset(tmp_path_factory) -> Path:
    """512 real CIFAR-10 images per split, decoded from the mirror's test archive as the prepare stage decodes."""
    archive = CIFAR_MIRROR / "test.tar"
    if not archive.is_file():
        pytest.skip("no local CIFAR-10 mirror")
    classes = compose(["dataset=cifar10"], config_name="data").dataset.source.classes
    images, labels = read_images(archive, classes)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    splits = {name: (images[order[i * 512 : (i + 1) * 512]], labels[order[i * 512 : (i + 1) * 512]])
              for i, name in enumerate(("train", "val", "test"))}  # fmt: skip
    std, mean = torch.std_mean(splits["train"][0].float().div(255), dim=(0, 2, 3))
    path = tmp_path_factory.mktemp("prepared") / "cifar10.pt"
    torch.save({**splits, "mean": mean, "std": std}, path)
    return path


@pytest.fixture(scope="session")
def mrpc() -> Path:
    if not (MRPC_MIRROR / "train.tsv").is_file():
        pytest.skip("no local MRPC mirror")
    return MRPC_MIRROR


@pytest.fixture(scope="session")
def prepared_mrpc(mrpc, tmp_path_factory) -> Path:
    """GLUE MRPC from the mirror, prepared as the pipeline prepares it."""
    path = tmp_path_factory.mktemp("prepared") / "mrpc"
    mrpc_source(mrpc).prepare().save_to_disk(str(path))
    return path
