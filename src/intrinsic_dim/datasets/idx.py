"""Datasets in the IDX layout of MNIST (MNIST, Fashion-MNIST, KMNIST, ...): fetch, check, split.

The raw files live where torchvision keeps them, <root>/<torchvision class name>/raw/, so torchvision's own
download writes them in place and a mirror in the same layout can stand in for it offline.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from hydra.utils import get_class
from torchvision.datasets.mnist import read_image_file, read_label_file

from intrinsic_dim.datasets.source import Source
from intrinsic_dim.errors import DataError


class IdxSource(Source):
    def __init__(self, files: Mapping[str, Sequence[str]], **settings) -> None:
        super().__init__(**settings)
        self.files = {split: tuple(names) for split, names in files.items()}

    def raw_dir(self, root: Path) -> Path:
        return Path(root) / self.torchvision_class.rsplit(".", 1)[-1] / "raw"

    def _complete(self, directory: Path) -> bool:
        return all((directory / name).is_file() for names in self.files.values() for name in names)

    def fetch(self) -> Path:
        """Put the raw files under root: kept if there, else copied from the mirror, else downloaded."""
        target = self.raw_dir(self.root)
        if self._complete(target):
            return target
        if self.mirror is not None and self._complete(self.raw_dir(self.mirror)):
            target.mkdir(parents=True, exist_ok=True)
            for names in self.files.values():
                for name in names:
                    shutil.copyfile(self.raw_dir(self.mirror) / name, target / name)
            return target
        if self.download:
            try:
                get_class(self.torchvision_class)(str(self.root), train=True, download=True)
            except Exception as error:  # torchvision raises bare RuntimeError/URLError after trying its mirrors
                raise DataError(
                    f"download failed ({type(error).__name__}); with no network, set dataset.source.mirror to a "
                    f"local copy with {self.raw_dir(Path('<mirror>'))}/ in it"
                ) from error
            return target
        raise DataError(
            f"raw files not found in {target} nor in the mirror {self.mirror}; set dataset.source.mirror to a local "
            f"copy (with {self.raw_dir(Path('<mirror>'))}/ in it) or set dataset.source.download=true with a network"
        )

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        directory = self.raw_dir(self.root)
        paths = [directory / name for name in self.files[split]]
        for path in paths:
            self.check(path)
        try:
            images, labels = read_image_file(str(paths[0])), read_label_file(str(paths[1]))
        except (AssertionError, RuntimeError, ValueError) as error:
            raise DataError(
                f"cannot read {paths[0].name}/{paths[1].name} as IDX ({error}); fetch them again"
            ) from error
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise DataError(
                f"{split} split: {tuple(images.shape)} images for {tuple(labels.shape)} labels; fetch the files again"
            )
        return images.unsqueeze(1), labels.long()
