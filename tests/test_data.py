import shutil

import hydra
import numpy as np
import pytest
import torch

from helpers import MNIST_MIRROR, fails_in_one_line
from intrinsic_dim.config import compose
from intrinsic_dim.datasets.idx import IdxSource
from intrinsic_dim.errors import BadInput, DataError
from intrinsic_dim.tasks.vision.images import PreparedImages

needs_mirror = pytest.mark.skipif(not MNIST_MIRROR.is_dir(), reason="no local MNIST mirror")


def source(dataset: str = "mnist", **settings) -> IdxSource:
    overrides = [f"dataset={dataset}", *(f"dataset.source.{key}={value}" for key, value in settings.items())]
    return hydra.utils.instantiate(compose(overrides, config_name="data").dataset.source)


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file: magic (0, 0, type 0x08 = ubyte, number of dimensions), big-endian sizes, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@needs_mirror
def test_fetch_copies_from_the_mirror_and_keeps_existing_files(tmp_path):
    target = source(root=tmp_path, mirror=MNIST_MIRROR).fetch()
    assert target == tmp_path / "MNIST" / "raw" and len(list(target.iterdir())) == 4
    assert source(root=tmp_path, mirror="null").fetch() == target  # already there: no mirror needed


def test_missing_data_offline_names_both_fixes(tmp_path):
    with pytest.raises(DataError, match="set dataset.source.mirror .* or set dataset.source.download=true"):
        source(root=tmp_path, mirror=tmp_path / "nowhere").fetch()


def test_failed_download_names_the_mirror(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr("intrinsic_dim.datasets.idx.get_class", lambda name: offline)
    with pytest.raises(DataError, match="download failed .* set dataset.source.mirror"):
        source(root=tmp_path, mirror="null", download="true").fetch()


@needs_mirror
@pytest.mark.slow
def test_prepare_checks_checksums_and_splits(tmp_path):
    splits = source(root=MNIST_MIRROR).prepare()
    assert {name: len(splits[name][1]) for name in ("train", "val", "test")} == {
        "train": 55000,
        "val": 5000,
        "test": 10000,
    }
    assert splits["train"][0].dtype == torch.uint8 and splits["train"][0].shape[1:] == (1, 28, 28)
    assert splits["mean"].item() == pytest.approx(0.1307, abs=1e-3) and splits["std"].item() == pytest.approx(
        0.3081, abs=1e-3
    )
    assert torch.equal(source(root=MNIST_MIRROR).prepare()["val"][1], splits["val"][1])  # fixed by its seed

    corrupt = tmp_path / "MNIST" / "raw"
    shutil.copytree(MNIST_MIRROR / "MNIST" / "raw", corrupt)
    labels = corrupt / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x07")
    with pytest.raises(DataError, match="does not match its sha256"):
        source(root=tmp_path).prepare()
    labels.write_bytes(labels.read_bytes()[:100])  # truncated, and accepted by checksum: still refused
    with pytest.raises(DataError, match="cannot read|labels"):
        source(root=tmp_path, **{"sha256.t10k-labels-idx1-ubyte": "null"}).prepare()


def test_another_idx_dataset_is_one_config_file(tmp_path):
    """conf/dataset/fashion_mnist.yaml alone: fetched from a mirror in torchvision's layout, then prepared."""
    raw = tmp_path / "mirror" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", 60), ("t10k", 20)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, count))
    dataset = source("fashion_mnist", root=tmp_path / "data", mirror=tmp_path / "mirror", validation_size=10)
    dataset.fetch()
    splits = dataset.prepare()
    assert [len(splits[name][1]) for name in ("train", "val", "test")] == [50, 10, 20]
    cfg = compose(["dataset=fashion_mnist"])
    assert cfg.task.data.path.endswith("fashion_mnist.pt") and cfg.dataset.source.root.endswith("fashion_mnist")


DIGITS_YAML = """
name: digits
num_classes: 4
prepared: ${paths.prepared_dir}/${.name}.pt
source:
  _target_: intrinsic_dim.datasets.idx.IdxSource
  root: ${paths.data_dir}/${..name}
  mirror: null
  download: false
  files:  # paths under root (or absolute); no torchvision class
    train: [raw/train-images, raw/train-labels]
    test: [raw/test-images, raw/test-labels]
  validation_size: 5
  split_seed: 0
  sha256: {train-images: null, train-labels: null, test-images: null, test-labels: null}  # by file name
"""


def test_idx_files_of_ones_own_are_one_config_file(tmp_path):
    """No torchvision class: the files are paths under root, checked against their digests, never downloaded."""
    (tmp_path / "conf" / "dataset").mkdir(parents=True)
    (tmp_path / "conf" / "dataset" / "digits.yaml").write_text(DIGITS_YAML)
    raw = tmp_path / "data" / "digits" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    arrays = {"train": (rng.integers(0, 256, (30, 8, 6)), rng.integers(0, 4, 30)),
              "test": (rng.integers(0, 256, (12, 8, 6)), rng.integers(0, 4, 12))}  # fmt: skip
    for split, (images, labels) in arrays.items():
        write_idx(raw / f"{split}-images", images)
        write_idx(raw / f"{split}-labels", labels)

    def digits(*overrides: str) -> IdxSource:
        where = [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"paths.data_dir={tmp_path / 'data'}"]
        return hydra.utils.instantiate(
            compose([*where, "dataset=digits", *overrides], config_name="data").dataset.source
        )

    assert digits().fetch() == tmp_path / "data" / "digits"
    splits = digits().prepare()
    assert splits["train"][0].shape == (25, 1, 8, 6) and splits["val"][0].shape == (5, 1, 8, 6)
    assert torch.equal(splits["test"][0][:, 0], torch.from_numpy(arrays["test"][0].astype(np.uint8)))
    assert torch.equal(splits["test"][1], torch.from_numpy(arrays["test"][1]))
    carved = torch.cat([splits["train"][1], splits["val"][1]]).sort().values
    assert torch.equal(carved, torch.from_numpy(arrays["train"][1]).sort().values)  # every training label kept
    with pytest.raises(DataError, match="does not match its sha256.*sha256.test-labels=null"):
        digits(f"dataset.source.sha256.test-labels={'0' * 64}").prepare()
    with pytest.raises(BadInput, match="put them in .* or set dataset.source.torchvision_class"):
        digits(f"dataset.source.root={tmp_path / 'empty'}", "dataset.source.download=true").fetch()


def test_prepare_without_raw_files_is_one_line(tmp_path):
    line = fails_in_one_line(["python", "pipelines/prepare.py", f"dataset.source.root={tmp_path}"])
    assert line.startswith("prepare: ") and "is missing; run `python pipelines/fetch_data.py" in line


def test_datamodule_without_prepared_file_says_how_to_make_it(tmp_path):
    with pytest.raises(DataError, match="run `dvc repro prepare` .*dataset=missing"):
        PreparedImages(str(tmp_path / "missing.pt")).setup()


def test_shuffled_pixels_and_labels(tmp_path):
    images = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(40) % 10
    path = tmp_path / "tiny.pt"
    torch.save({**{split: (images, labels) for split in ("train", "val", "test")},
                "mean": torch.tensor([0.5]), "std": torch.tensor([0.25])}, path)  # fmt: skip
    plain, pixels, shuffled = (
        PreparedImages(str(path), **flags) for flags in ({}, {"shuffle_pixels": True}, {"shuffle_labels": True})
    )
    for module in (plain, pixels, shuffled):
        module.setup()
    x, y = plain.splits["train"].tensors
    assert torch.allclose(x, (images.float() / 255 - 0.5) / 0.25, atol=1e-6)  # the prepared file's mean and std
    xp, _ = pixels.splits["train"].tensors
    assert torch.equal(x.flatten(1).sort(1).values, xp.flatten(1).sort(1).values)  # same pixels, other places
    assert not torch.equal(x, xp)
    assert torch.equal(pixels.splits["test"].tensors[0], xp)  # one permutation for every split (same images here)
    _, ys = shuffled.splits["train"].tensors
    assert torch.equal(ys.sort().values, y.sort().values) and not torch.equal(ys, y)
    assert torch.equal(shuffled.splits["val"].tensors[1], y)  # only training labels are shuffled
