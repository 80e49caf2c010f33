"""Image-classification datasets that torchvision downloads as its own files (CIFAR-10, CIFAR-100, ...), with
an offline path: a mirror holding one tar archive of image files per split in ImageFolder layout
(`<split>/<class>/<id>.jpg`), decoded once by the prepare stage.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from hydra.utils import get_class
from PIL import Image, UnidentifiedImageError

from intrinsic_dim.datasets.source import Source
from intrinsic_dim.errors import DataError


def read_image_tar(path: Path, classes: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of an ImageFolder-layout tar as uint8 (N, 3, H, W), in file-name order, and its class index."""
    index = {name: label for label, name in enumerate(classes)}
    images, labels = [], []
    try:
        with tarfile.open(path) as archive:
            for member in sorted((m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name):
                class_name = PurePosixPath(member.name).parent.name
                if class_name not in index:
                    raise DataError(f"{path}: {member.name} is in no class of dataset.source.classes; fetch it again")
                with Image.open(archive.extractfile(member)) as image:
                    images.append(torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1))
                labels.append(index[class_name])
    except (tarfile.TarError, OSError, UnidentifiedImageError) as error:
        reason = " ".join(str(error).split())
        raise DataError(f"cannot read {path} as a tar of images ({reason}); delete it and fetch it again") from error
    if not images or len({image.shape for image in images}) != 1:
        raise DataError(f"{path}: no images, or images of different sizes; fetch it again")
    return torch.stack(images), torch.tensor(labels)


class TorchvisionOrImageTarSource(Source):
    def __init__(self, archives: Mapping[str, str], classes: Sequence[str], **settings) -> None:
        super().__init__(**settings)
        self.dataset_class = get_class(self.torchvision_class)
        self.archives = dict(archives)  # split -> tar file name
        self.classes = list(classes)

    def downloaded(self) -> bool:
        return (self.root / self.dataset_class.base_folder).is_dir()

    def has_archives(self, directory: Path) -> bool:
        return all((directory / name).is_file() for name in self.archives.values())

    def fetch(self) -> Path:
        """Keep what root has, else copy the mirror's archives, else let torchvision download its files."""
        if self.downloaded() or self.has_archives(self.root):
            return self.root
        if self.mirror is not None and self.has_archives(self.mirror):
            self.root.mkdir(parents=True, exist_ok=True)
            for name in self.archives.values():
                shutil.copyfile(self.mirror / name, self.root / name)
            return self.root
        if self.download:
            try:
                self.dataset_class(str(self.root), train=True, download=True)
            except Exception as error:  # torchvision raises bare URLError/RuntimeError when the download fails
                raise DataError(
                    f"download failed ({type(error).__name__}: {error}); with no network, set dataset.source.mirror to "
                    f"a local folder with {', '.join(self.archives.values())} in it"
                ) from error
            return self.root
        raise DataError(
            f"neither torchvision's files nor {', '.join(self.archives.values())} are in {self.root} or the mirror "
            f"{self.mirror}; set dataset.source.mirror to a folder with the archives, or dataset.source.download=true"
        )

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.downloaded():
            try:
                dataset = self.dataset_class(str(self.root), train=split == "train", download=False)
            except RuntimeError as error:  # torchvision's own checksum test failed
                raise DataError(
                    f"{self.root / self.dataset_class.base_folder}: {error}; delete it and fetch again"
                ) from error
            images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
            return images, torch.tensor(dataset.targets)
        return read_image_tar(self.check(self.root / self.archives[split], key=split), self.classes)
