"""The adapter of torchvision.datasets classes, on small fake classes shaped like torchvision's (no download
here): train= or split=, .targets or .labels, NHWC or NCHW arrays, (N, H, W) tensors, or PIL images one at a
time; and conf/dataset/svhn.yaml and cifar100.yaml on them."""

from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
from PIL import Image

from intrinsic_dim.config import compose
from intrinsic_dim.datasets.torchvision_classes import TorchvisionSource
from intrinsic_dim.errors import BadInput, DataError

COUNTS = {"train": 7, "test": 3}


def fake_images(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images (N, H, W, 3) and labels a fake download writes."""
    rng = np.random.default_rng(0 if split == "train" else 1)
    return rng.integers(0, 256, (COUNTS[split], 5, 4, 3), dtype=np.uint8), rng.integers(0, 10, COUNTS[split])


class FakeTorchvision:
    """What torchvision's classes share: files under root that download=True writes; else "not found"."""

    reads = 0  # examples decoded through __getitem__, counted per class

    def read(self, root, split: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
        path = Path(root) / "fake" / f"{split}.npz"
        if download and not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            images, labels = fake_images(split)
            np.savez(path, images=images, labels=labels)
        if not path.is_file():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        stored = np.load(path)
        return stored["images"], stored["labels"]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        type(self).reads += 1
        return self.example(index)


class SplitLabelsNHWC(FakeTorchvision):
    """split="train"/"test" and .labels as SVHN has them; NHWC numpy images as CIFAR-10 keeps them."""

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        self.data, self.labels = self.read(root, split, download)

    def example(self, index):
        return Image.fromarray(self.data[index]), int(self.labels[index])


class TrainTargetsNCHW(FakeTorchvision):
    """train=True/False and a .targets list as CIFAR-100 has them; NCHW numpy images as SVHN keeps them."""

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        images, labels = self.read(root, "train" if train else "test", download)
        self.data, self.targets = images.transpose(0, 3, 1, 2), labels.tolist()

    def example(self, index):
        return Image.fromarray(self.data[index].transpose(1, 2, 0)), self.targets[index]


class TrainTargetsGrayTensor(FakeTorchvision):
    """(N, H, W) uint8 tensors and tensor targets, as MNIST and KMNIST keep them."""

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        images, labels = self.read(root, "train" if train else "test", download)
        self.data, self.targets = torch.from_numpy(images[..., 0].copy()), torch.from_numpy(labels)

    def example(self, index):
        return Image.fromarray(self.data[index].numpy()), int(self.targets[index])


class SplitFilesOfSeveralSizes(FakeTorchvision):
    """No arrays: PIL images decoded one at a time (as Flowers102), every other one larger."""

    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        self.images, self.classes_of = self.read(root, split, download)

    def __len__(self) -> int:
        return len(self.images)

    def example(self, index):
        image = Image.fromarray(self.images[index])
        return (image.resize((8, 10)) if index % 2 else image), int(self.classes_of[index])


class SplitAndTrain(SplitLabelsNHWC):
    """Like EMNIST: split= chooses a variant and **kwargs reach train=, so the split cannot be inferred."""

    def __init__(self, root, split, **kwargs):
        super().__init__(root, "train" if kwargs.get("train", True) else "test", download=kwargs.get("download", False))


def adapter(name: str, root, **settings) -> TorchvisionSource:
    defaults = {"mirror": None, "download": True, "validation_size": 2, "split_seed": 0}
    return TorchvisionSource(f"{__name__}.{name}", root=str(root), **{**defaults, **settings})


def expected(split: str, channels: int = 3) -> tuple[torch.Tensor, list[int]]:
    images, labels = fake_images(split)
    return torch.from_numpy(images[..., :channels]).permute(0, 3, 1, 2), labels.tolist()


@pytest.mark.parametrize(
    ("name", "channels"), [("SplitLabelsNHWC", 3), ("TrainTargetsNCHW", 3), ("TrainTargetsGrayTensor", 1)]
)
def test_whole_arrays_of_any_layout_are_read_at_once(name, channels, tmp_path):
    source = adapter(name, tmp_path)
    assert source.fetch() == tmp_path
    reads = globals()[name].reads
    images, labels = source.load_split("test")
    assert globals()[name].reads == reads + 1  # only example 0, to learn the layout
    want_images, want_labels = expected("test", channels)
    assert images.dtype == torch.uint8 and torch.equal(images, want_images) and labels.tolist() == want_labels
    splits = source.prepare()
    assert [len(splits[split][1]) for split in ("train", "val", "test")] == [5, 2, 3]
    assert splits["mean"].shape == (channels,)


def test_images_decoded_one_at_a_time_need_one_size(tmp_path):
    source = adapter("SplitFilesOfSeveralSizes", tmp_path)
    source.fetch()
    with pytest.raises(DataError, match=r"Sizes\[1\] is 10x8 but .*Sizes\[0\] is 5x4; set dataset.source.size=\[5,4\]"):
        source.load_split("test")
    images, labels = adapter("SplitFilesOfSeveralSizes", tmp_path, size=[5, 4]).load_split("test")
    want_images, want_labels = expected("test")
    assert images.shape == (3, 3, 5, 4) and labels.tolist() == want_labels
    assert torch.equal(images[0], want_images[0]) and torch.equal(images[2], want_images[2])  # not resized


def test_split_arguments_are_inferred_or_given(tmp_path):
    with pytest.raises(
        BadInput, match="cannot tell how SplitAndTrain chooses its .* set dataset.source.split_arguments"
    ):
        adapter("SplitAndTrain", tmp_path)
    given = {"train": {"split": "letters", "train": True}, "test": {"split": "letters", "train": False}}
    source = adapter("SplitAndTrain", tmp_path, split_arguments=given)
    source.fetch()
    assert source.load_split("test")[1].tolist() == expected("test")[1]
    with pytest.raises(BadInput, match="split_arguments names \\['train'\\]; give train and test"):
        adapter("SplitAndTrain", tmp_path, split_arguments={"train": {"split": "letters"}})


def test_a_mirror_in_torchvisions_layout_is_copied_and_nothing_offline_is_one_line(tmp_path):
    adapter("SplitLabelsNHWC", tmp_path / "mirror").fetch()  # a copy made elsewhere
    source = adapter("SplitLabelsNHWC", tmp_path / "data", mirror=str(tmp_path / "mirror"), download=False)
    assert source.fetch() == tmp_path / "data" and (tmp_path / "data" / "fake" / "train.npz").is_file()
    with pytest.raises(DataError, match="no SplitLabelsNHWC files in .* set dataset.source.mirror .*download=true"):
        adapter("SplitLabelsNHWC", tmp_path / "empty", download=False).fetch()
    with pytest.raises(DataError, match="SplitLabelsNHWC cannot read .*Dataset not found.*fetch_data.py"):
        adapter("SplitLabelsNHWC", tmp_path / "empty", download=False).load_split("train")


class Unreachable(SplitLabelsNHWC):
    def __init__(self, root, split="train", transform=None, target_transform=None, download=False):
        if download:
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
        super().__init__(root, split)


def test_a_failed_download_says_how_to_work_offline(tmp_path):
    with pytest.raises(DataError, match="download failed \\(OSError: <urlopen error.* set dataset.source.mirror"):
        adapter("Unreachable", tmp_path).fetch()


@pytest.mark.parametrize(("dataset", "fake"), [("svhn", "SplitLabelsNHWC"), ("cifar100", "TrainTargetsNCHW")])
def test_the_svhn_and_cifar100_configs_prepare_through_the_adapter(dataset, fake, tmp_path):
    overrides = [f"dataset={dataset}", f"dataset.source.torchvision_class={__name__}.{fake}",
                 f"dataset.source.root={tmp_path}", "dataset.source.download=true",
                 "dataset.source.validation_size=3"]  # fmt: skip
    source = hydra.utils.instantiate(compose(overrides, config_name="data").dataset.source)
    source.fetch()
    splits = source.prepare()
    assert [len(splits[split][1]) for split in ("train", "val", "test")] == [4, 3, 3]
    assert torch.equal(splits["test"][0], expected("test")[0])
