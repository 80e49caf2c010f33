"""CIFAR-10 sources: the offline JPEG-tar mirror (a small generated tar in the same layout) and torchvision's
download path, served by a local HTTP server: never the network."""

import functools
import hashlib
import http.server
import io
import pickle
import shutil
import tarfile
import threading

import hydra
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import CIFAR10

from helpers import fails_in_one_line
from intrinsic_dim.config import compose
from intrinsic_dim.errors import DataError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_source(root, mirror="null", **settings):
    overrides = ["dataset=cifar10", f"dataset.source.root={root}", f"dataset.source.mirror={mirror}"]
    overrides += [f"dataset.source.{key}={value}" for key, value in settings.items()]
    return hydra.utils.instantiate(compose(overrides, config_name="data").dataset.source)


def write_image_tar(path, split: str, per_class: int, rng) -> np.ndarray:
    """A tar in the mirror's layout (<split>/<class>/<id>.png, lossless so pixels can be compared); the images."""
    images = rng.integers(0, 256, (len(CLASSES), per_class, 32, 32, 3), dtype=np.uint8)
    with tarfile.open(path, "w") as archive:
        for label, name in enumerate(CLASSES):
            for index in range(per_class):
                buffer = io.BytesIO()
                Image.fromarray(images[label, index]).save(buffer, format="PNG")
                member = tarfile.TarInfo(f"{split}/{name}/{index:04d}.png")
                member.size = buffer.tell()
                buffer.seek(0)
                archive.addfile(member, buffer)
    return images


@pytest.fixture
def mirror(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mirror"
    folder.mkdir()
    images = {split: write_image_tar(folder / f"{split}.tar", split, count, rng) for split, count in
              (("train", 6), ("test", 2))}  # fmt: skip
    return folder, images


def test_the_mirror_tars_are_copied_decoded_and_split(tmp_path, mirror):
    folder, images = mirror
    source = cifar_source(tmp_path / "data", folder, **{"sha256.train": "null", "sha256.test": "null"},
                          validation_size=10)  # fmt: skip
    assert source.fetch() == tmp_path / "data" and (tmp_path / "data" / "train.tar").is_file()
    test_images, test_labels = source.load_split("test")
    assert test_images.shape == (20, 3, 32, 32) and test_images.dtype == torch.uint8
    assert test_labels.tolist() == [label for label in range(10) for _ in range(2)]  # class order of CIFAR-10
    assert torch.equal(test_images[3], torch.from_numpy(images["test"][1, 1]).permute(2, 0, 1))  # bird, image 1
    splits = source.prepare()
    assert [len(splits[name][1]) for name in ("train", "val", "test")] == [50, 10, 20]
    assert splits["mean"].shape == (3,)


def test_a_tar_that_differs_from_its_checksum_is_refused(tmp_path, mirror):
    folder, _ = mirror
    source = cifar_source(tmp_path / "data", folder)  # the real mirror's checksums
    with pytest.raises(DataError, match="the mirror's .*/train.tar does not match its sha256"):
        source.fetch()  # never copied
    shutil.copytree(folder, tmp_path / "data", dirs_exist_ok=True)  # put there by hand
    with pytest.raises(DataError, match="/data/train.tar does not match its sha256"):
        source.load_split("train")


def test_a_corrupt_tar_is_one_line(tmp_path):
    (tmp_path / "train.tar").write_bytes(b"not a tar at all")
    (tmp_path / "test.tar").write_bytes(b"not a tar at all")
    line = fails_in_one_line(["python", "pipelines/prepare.py", "dataset=cifar10", f"dataset.source.root={tmp_path}",
                              "dataset.source.sha256.train=null"])  # fmt: skip
    assert line.startswith("prepare: ") and "cannot read" in line and "fetch it again" in line


def test_nothing_to_fetch_offline_is_one_line(tmp_path):
    line = fails_in_one_line(["python", "pipelines/fetch_data.py", "dataset=cifar10", f"dataset.source.root={tmp_path}",
                              f"dataset.source.mirror={tmp_path / 'nowhere'}"])  # fmt: skip
    assert line.startswith("fetch_data: ") and "dataset.source.mirror" in line and "download=true" in line


def pickle_batches(folder, rng) -> dict[str, np.ndarray]:
    """CIFAR-10's python batches as torchvision expects them; the images of each split, NHWC."""
    folder.mkdir(parents=True)
    images = {}
    for name, count in (("data_batch_1", 8), ("data_batch_2", 8), ("data_batch_3", 8), ("data_batch_4", 8),
                        ("data_batch_5", 8), ("test_batch", 6)):  # fmt: skip
        data = rng.integers(0, 256, (count, 3 * 32 * 32), dtype=np.uint8)
        labels = [int(label) for label in rng.integers(0, 10, count)]
        (folder / name).write_bytes(pickle.dumps({"data": data, "labels": labels}))
        images[name] = (data.reshape(-1, 3, 32, 32), labels)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": CLASSES}))
    return images


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    """torchvision's real download code, pointed at a local server with a generated archive and its checksums."""
    served = tmp_path / "served"
    batches = pickle_batches(served / "cifar-10-batches-py", np.random.default_rng(1))
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(served / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    folder = served / "cifar-10-batches-py"
    batch_files = [[f"data_batch_{index}", md5(folder / f"data_batch_{index}")] for index in range(1, 6)]
    monkeypatch.setattr(CIFAR10, "train_list", batch_files)
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(folder / "batches.meta")})
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{server.server_port}/{archive.name}")
        source = cifar_source(tmp_path / "data", download="true", validation_size=4)
        assert source.fetch() == tmp_path / "data"
    finally:
        server.shutdown()
    images, labels = source.load_split("test")
    test_images, test_labels = batches["test_batch"]
    assert torch.equal(images, torch.from_numpy(test_images)) and labels.tolist() == test_labels
    assert [len(split[1]) for split in source.prepare().values() if isinstance(split, tuple)] == [36, 4, 6]


def test_a_failed_download_says_how_to_work_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/nothing-listens-here.tar.gz")
    with pytest.raises(DataError, match="download failed .*set dataset.source.mirror"):
        cifar_source(tmp_path / "data", download="true").fetch()
