"""Image datasets in ImageFolder layout (per split, a folder or a tar of <class>/<file>), from tiny PNGs written
here: labels from given or inferred classes, one size and mode per dataset, and a dataset as one config file."""

import io
import tarfile

import hydra
import numpy as np
import pytest
import torch
from PIL import Image

from intrinsic_dim.config import compose
from intrinsic_dim.datasets.image_folders import ImageFolderSource
from intrinsic_dim.errors import BadInput, DataError


def random_images(classes: dict[str, int], seed: int, shape=(6, 5, 3)) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {name: [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)] for name, n in classes.items()}


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")  # lossless: pixels can be compared
    return buffer.getvalue()


def write_folder(folder, images: dict[str, list[np.ndarray]]) -> None:
    for name, arrays in images.items():
        (folder / name).mkdir(parents=True)
        for index, pixels in enumerate(arrays):
            (folder / name / f"{index:03d}.png").write_bytes(png(pixels))


def write_tar(path, prefix: str, images: dict[str, list[np.ndarray]]) -> None:
    with tarfile.open(path, "w") as archive:
        for name, arrays in images.items():
            for index, pixels in enumerate(arrays):
                data = png(pixels)
                member = tarfile.TarInfo(f"{prefix}{name}/{index:03d}.png")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))


def chw(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(pixels).permute(2, 0, 1) for pixels in arrays])


def folder_source(root, splits=None, **settings) -> ImageFolderSource:
    return ImageFolderSource(splits=splits or {"train": "train", "test": "test"}, root=str(root), mirror=None,
                             download=False, validation_size=2, split_seed=0, **settings)  # fmt: skip


def test_class_folders_give_labels_in_sorted_order_when_no_classes_are_listed(tmp_path):
    train = random_images({"zebra": 3, "ant": 2, "moth": 3}, seed=0)
    test = random_images({"moth": 1, "ant": 2, "zebra": 1}, seed=1)
    write_folder(tmp_path / "train", train)
    write_folder(tmp_path / "test", test)
    (tmp_path / "test" / "README.txt").write_text("not an image: skipped, as ImageFolder skips it")
    source = folder_source(tmp_path)
    images, labels = source.load_split("test")
    assert source.classes == ["ant", "moth", "zebra"]
    assert labels.tolist() == [0, 0, 1, 2]  # files in name order: ant/000, ant/001, moth/000, zebra/000
    assert torch.equal(images, chw([*test["ant"], *test["moth"], *test["zebra"]]))
    splits = source.prepare()
    assert [len(splits[name][1]) for name in ("train", "val", "test")] == [6, 2, 4]
    carved = torch.cat([splits["train"][0], splits["val"][0]]).flatten(1).tolist()
    assert sorted(carved) == sorted(chw(sum(train.values(), [])).flatten(1).tolist())  # every training image, once
    assert splits["mean"].shape == (3,) and torch.allclose(
        splits["mean"], splits["train"][0].float().div(255).mean(dim=(0, 2, 3))
    )


def test_a_tar_of_class_folders_with_classes_listed_in_label_order(tmp_path):
    images = random_images({"ant": 2, "moth": 1, "zebra": 2}, seed=2)
    write_tar(tmp_path / "train.tar", "train/", images)  # the CIFAR-10 mirror's layout
    write_tar(tmp_path / "test.tar", "", images)  # or the class folders at the top
    source = folder_source(tmp_path, {"train": "train.tar", "test": "test.tar"}, classes=["zebra", "ant", "moth"])
    for split in ("train", "test"):
        loaded, labels = source.load_split(split)
        assert labels.tolist() == [1, 1, 2, 0, 0]  # ant, moth, zebra in name order; labels by the listed order
        assert torch.equal(loaded, chw([*images["ant"], *images["moth"], *images["zebra"]]))


def test_the_mirror_copy_of_folders_and_tars_and_its_checksums(tmp_path):
    mirror = tmp_path / "mirror"
    write_folder(mirror / "train", random_images({"a": 3, "b": 3}, seed=3))
    write_tar(mirror / "test.tar", "test/", random_images({"a": 1, "b": 1}, seed=4))
    splits = {"train": "train", "test": "test.tar"}
    settings = {"splits": splits, "mirror": str(mirror), "download": False, "validation_size": 2, "split_seed": 0}
    source = ImageFolderSource(root=str(tmp_path / "data"), **settings)
    assert source.fetch() == tmp_path / "data"
    assert sorted(path.name for path in (tmp_path / "data" / "train").iterdir()) == ["a", "b"]
    assert (tmp_path / "data" / "test.tar").is_file() and source.load_split("test")[1].tolist() == [0, 1]
    with pytest.raises(DataError, match="does not match its sha256.*sha256.test=null"):
        ImageFolderSource(root=str(tmp_path / "data"), sha256={"test": "0" * 64}, **settings).load_split("test")
    with pytest.raises(DataError, match="is a folder.*set dataset.source.sha256.train=null"):
        ImageFolderSource(root=str(tmp_path / "data"), sha256={"train": "0" * 64}, **settings).load_split("train")
    with pytest.raises(DataError, match="no train, test.tar in .* set dataset.source.mirror"):
        ImageFolderSource(root=str(tmp_path / "elsewhere"), **{**settings, "mirror": None}).fetch()


def test_a_test_class_that_train_does_not_have_is_refused(tmp_path):
    write_folder(tmp_path / "train", random_images({"ant": 2, "moth": 2}, seed=5))
    write_folder(tmp_path / "test", random_images({"ant": 1, "bee": 1}, seed=6))
    with pytest.raises(DataError, match="class folder 'bee', which dataset.source.classes does not list"):
        folder_source(tmp_path).load_split("test")


def test_images_of_several_sizes_name_the_size_option_which_resizes_them(tmp_path):
    images = random_images({"ant": 2, "moth": 1}, seed=7)
    images["moth"].append(np.zeros((4, 4, 3), dtype=np.uint8))
    write_folder(tmp_path / "train", images)
    write_folder(tmp_path / "test", random_images({"ant": 1}, seed=8))
    with pytest.raises(DataError, match=r"moth/001.png is 4x4 but .*/000.png is 6x5; set dataset.source.size=\[6,5\]"):
        folder_source(tmp_path).load_split("train")
    resized, _ = folder_source(tmp_path, size=[4, 3]).load_split("train")
    assert resized.shape == (4, 3, 4, 3)
    assert torch.equal(resized[3], torch.zeros(3, 4, 3, dtype=torch.uint8))  # black stays black


def test_images_of_several_modes_name_the_mode_option_which_converts_them(tmp_path):
    write_folder(tmp_path / "train", random_images({"ant": 2}, seed=9))
    write_folder(tmp_path / "test", random_images({"ant": 1}, seed=10, shape=(6, 5)))  # grayscale
    source = folder_source(tmp_path)
    source.load_split("train")
    with pytest.raises(DataError, match="has mode L but .* has RGB; set dataset.source.mode=RGB"):
        source.load_split("test")  # one mode across the splits of a dataset
    gray, _ = folder_source(tmp_path, mode="L").load_split("test")
    assert gray.shape == (1, 1, 6, 5)
    palette = Image.new("P", (5, 6))
    palette.save(tmp_path / "test" / "ant" / "000.png")  # the first image: its mode cannot be stacked as is
    with pytest.raises(DataError, match="has mode P, not one byte per channel; set dataset.source.mode=RGB"):
        folder_source(tmp_path).load_split("test")


def test_a_file_outside_class_folders_and_bad_splits_are_one_line(tmp_path):
    write_folder(tmp_path / "train", random_images({"ant": 2}, seed=11))
    (tmp_path / "train" / "stray.png").write_bytes(png(np.zeros((6, 5, 3), dtype=np.uint8)))
    with pytest.raises(DataError, match="stray.png is in no class folder; arrange each split as <class>/<file>"):
        folder_source(tmp_path).load_split("train")
    (tmp_path / "test.tar").write_bytes(b"not a tar at all")
    with pytest.raises(DataError, match="cannot read .*test.tar as a folder or tar of images .* fetch it again"):
        folder_source(tmp_path, {"train": "train", "test": "test.tar"}, classes=["ant"]).load_split("test")
    with pytest.raises(BadInput, match=r"dataset.source.splits names \['train', 'val'\]; give train and test"):
        folder_source(tmp_path, {"train": "train", "val": "val"})


IMAGE_FOLDER_YAML = """
# Tiny insects in ImageFolder layout: train/ and test/ folders of <class>/<file> images in the mirror.
name: insects
num_classes: 3
prepared: ${paths.prepared_dir}/${.name}.pt
source:
  _target_: intrinsic_dim.datasets.image_folders.ImageFolderSource
  root: ${paths.data_dir}/${..name}
  mirror: ${paths.mirror_dir}/${..name}
  download: false
  splits: {train: train, test: test}  # folders (or tars) under root
  size: [4, 4]  # photos of several sizes, resized to height x width
  validation_size: 2
  split_seed: 0
"""


def test_an_image_folder_dataset_is_one_config_file(tmp_path):
    (tmp_path / "conf" / "dataset").mkdir(parents=True)
    (tmp_path / "conf" / "dataset" / "insects.yaml").write_text(IMAGE_FOLDER_YAML)
    write_folder(tmp_path / "mirror" / "insects" / "train", random_images({"moth": 3, "ant": 3, "bee": 2}, seed=12))
    larger = random_images({"bee": 1, "ant": 1}, seed=13, shape=(9, 9, 3))
    write_folder(tmp_path / "mirror" / "insects" / "test", larger)
    where = [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"paths.mirror_dir={tmp_path / 'mirror'}",
             f"paths.data_dir={tmp_path / 'data'}", "dataset=insects"]  # fmt: skip
    source = hydra.utils.instantiate(compose(where, config_name="data").dataset.source)
    assert source.fetch() == tmp_path / "data" / "insects"
    splits = source.prepare()
    assert [tuple(splits[name][0].shape) for name in ("train", "val", "test")] == [(6, 3, 4, 4), (2, 3, 4, 4),
                                                                                    (2, 3, 4, 4)]  # fmt: skip
    assert splits["test"][1].tolist() == [0, 1] and source.classes == ["ant", "bee", "moth"]
