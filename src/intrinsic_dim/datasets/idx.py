"""Datasets in the IDX layout of MNIST (MNIST, Fashion-MNIST, KMNIST, or a user's own files): fetch, check, split.

With a `torchvision_class`, the raw files live where torchvision keeps them, <root>/<class name>/raw/, so
torchvision's own download writes them in place and a mirror in the same layout can stand in for it offline.
Without one, `files` are paths under root (or absolute paths) and nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from hydra.utils import get_class
from torchvision.datasets.mnist import read_image_file, read_label_file

from intrinsic_dim.datasets.image_source import RAW_SPLITS, ImageSource
from intrinsic_dim.datasets.raw_files import RawFiles
from intrinsic_dim.datasets.torchvision_classes import download
from intrinsic_dim.errors import BadInput, DataError


class IdxSource(ImageSource):
    def __init__(
        self,
        files: Mapping[str, Sequence[str]],
        sha256: Mapping[str, str | None] | None = None,
        torchvision_class: str | None = None,
        **settings,
    ) -> None:
        super().__init__(**settings)
        if sorted(files) != sorted(RAW_SPLITS) or any(len(names) != 2 for names in files.values()):
            raise BadInput("dataset.source.files must give train and test, each as [images file, labels file]")
        self.files = {split: tuple(names) for split, names in files.items()}
        self.torchvision_class = torchvision_class
        names = {Path(name).name: name for pair in self.files.values() for name in pair}  # digests by file name
        self.raw = RawFiles(self.raw_dir(self.root), self.mirror and self.raw_dir(self.mirror), names, sha256 or {})

    def raw_dir(self, root: Path) -> Path:
        if self.torchvision_class is None:
            return Path(root)
        return Path(root) / self.torchvision_class.rsplit(".", 1)[-1] / "raw"

    def fetch(self) -> Path:
        """Put the raw files under root: kept if there, else copied from the mirror, else downloaded."""
        if self.raw.fetch():
            return self.raw.root
        where = f"{self.raw_dir(Path('<mirror>'))}/" if self.torchvision_class else "the files"
        if not self.download:
            raise DataError(
                f"raw files not found in {self.raw.root} nor in the mirror {self.mirror}; set dataset.source.mirror "
                f"to a local copy (with {where} in it) or set dataset.source.download=true with a network"
            )
        if self.torchvision_class is None:
            raise BadInput(
                f"nothing to download IDX files with; put them in {self.raw.root}, or set "
                "dataset.source.torchvision_class to the torchvision class that downloads them"
            )
        download(get_class(self.torchvision_class), self.root, [{"train": True}])  # one call fetches both splits
        return self.raw.root

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        paths = [self.raw.checked(Path(name).name) for name in self.files[split]]
        try:
            images, labels = read_image_file(str(paths[0])), read_label_file(str(paths[1]))
        except (AssertionError, RuntimeError, ValueError) as error:
            raise DataError(
                f"cannot read {paths[0].name}/{paths[1].name} as IDX ({error or 'not IDX images and labels'}); "
                "fetch them again"
            ) from error
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise DataError(
                f"{split} split: {tuple(images.shape)} images for {tuple(labels.shape)} labels; fetch the files again"
            )
        return images.unsqueeze(1), labels.long()
