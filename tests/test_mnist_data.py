import shutil
from pathlib import Path

import pytest
import torch

from intrinsic_dim import mnist
from intrinsic_dim.config import compose
from intrinsic_dim.datamodule import PreparedImages

MIRROR = Path(__file__).parents[2] / "shared" / "data" / "mnist"
needs_mirror = pytest.mark.skipif(not mnist.raw_dir(MIRROR).is_dir(), reason="no local MNIST mirror")


@needs_mirror
def test_fetch_copies_from_the_mirror_and_keeps_existing_files(tmp_path):
    target = mnist.fetch(tmp_path, mirror=MIRROR, download=False)
    assert sorted(p.name for p in target.iterdir()) == sorted(n for files in mnist.RAW_FILES.values() for n in files)
    assert mnist.fetch(tmp_path, mirror=None, download=False) == target  # already there: no mirror needed


def test_missing_data_offline_names_both_fixes(tmp_path):
    with pytest.raises(mnist.DataError, match="set dataset.mirror .* or set dataset.download=true"):
        mnist.fetch(tmp_path, mirror=tmp_path / "nowhere", download=False)


def test_failed_download_names_the_mirror(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(mnist, "MNIST", offline)
    with pytest.raises(mnist.DataError, match="download failed .* set dataset.mirror"):
        mnist.fetch(tmp_path, mirror=None, download=True)


@needs_mirror
@pytest.mark.slow
def test_prepare_checks_checksums_and_splits(tmp_path):
    expected = dict(compose().dataset.sha256)
    splits = mnist.prepare(mnist.raw_dir(MIRROR), expected, validation_size=5000, seed=0)
    assert {name: len(labels) for name, (_, labels) in splits.items()} == {"train": 55000, "val": 5000, "test": 10000}
    assert splits["train"][0].dtype == torch.uint8 and splits["train"][0].shape[1:] == (28, 28)
    again = mnist.prepare(mnist.raw_dir(MIRROR), expected, validation_size=5000, seed=0)
    assert torch.equal(again["val"][1], splits["val"][1])  # the split is fixed by its seed

    corrupt = tmp_path / "raw"
    shutil.copytree(mnist.raw_dir(MIRROR), corrupt)
    labels = corrupt / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x07")
    with pytest.raises(mnist.DataError, match="does not match its sha256"):
        mnist.prepare(corrupt, expected, validation_size=5000, seed=0)
    labels.write_bytes(labels.read_bytes()[:100])  # truncated, and accepted by checksum: still refused
    with pytest.raises(mnist.DataError, match="cannot read|unexpected shape"):
        mnist.prepare(corrupt, {}, validation_size=5000, seed=0)


def test_datamodule_without_prepared_file_says_how_to_make_it(tmp_path):
    with pytest.raises(mnist.DataError, match="dvc repro prepare"):
        PreparedImages(str(tmp_path / "missing.pt")).setup()


def test_shuffled_pixels_and_labels(tmp_path):
    images = torch.randint(0, 256, (40, 28, 28), dtype=torch.uint8)
    labels = torch.arange(40) % 10
    path = tmp_path / "tiny.pt"
    torch.save({split: (images, labels) for split in ("train", "val", "test")}, path)
    plain, pixels, shuffled = (
        PreparedImages(str(path), **flags) for flags in ({}, {"shuffle_pixels": True}, {"shuffle_labels": True})
    )
    for module in (plain, pixels, shuffled):
        module.setup()
    x, y = plain.splits["train"].tensors
    xp, _ = pixels.splits["train"].tensors
    assert torch.equal(x.flatten(1).sort(1).values, xp.flatten(1).sort(1).values)  # same pixels, other places
    assert not torch.equal(x, xp)
    assert torch.equal(pixels.splits["test"].tensors[0], xp)  # one permutation for every split (same images here)
    _, ys = shuffled.splits["train"].tensors
    assert torch.equal(ys.sort().values, y.sort().values) and not torch.equal(ys, y)
    assert torch.equal(shuffled.splits["val"].tensors[1], y)  # only training labels are shuffled
