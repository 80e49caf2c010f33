"""Any image-classification class of `torchvision.datasets` (CIFAR-100, SVHN, KMNIST, STL10, ...) as a source.

The classes differ in how a split is chosen (`train=True/False` or `split="train"/"test"`), where the labels
are (`.targets` or `.labels`) and how images are held (NHWC numpy arrays, NCHW arrays, (N, H, W) tensors, or
files decoded one at a time). Whole arrays are read at once, in the layout their first example shows; anything
else is read example by example as PIL images.
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from hydra.utils import get_class
from PIL import Image

from intrinsic_dim.datasets.image_source import RAW_SPLITS, ImageSource
from intrinsic_dim.datasets.pil_images import ImageDecoder
from intrinsic_dim.errors import BadInput, DataError


def inferred_split_arguments(dataset_class: type) -> dict[str, dict]:
    """The constructor arguments choosing each raw split, from the class's signature: train=True/False, or
    split="train"/"test" where split defaults to "train" (EMNIST's split is a variant; FGVCAircraft's "trainval")."""
    parameters = inspect.signature(dataset_class).parameters
    if "train" in parameters:
        return {split: {"train": split == "train"} for split in RAW_SPLITS}
    if "split" in parameters and parameters["split"].default == "train":
        return {split: {"split": split} for split in RAW_SPLITS}
    raise BadInput(
        f"cannot tell how {dataset_class.__name__} chooses its train and test splits (no train=, no split= defaulting "
        "to train); set dataset.source.split_arguments, e.g. {train: {split: trainval}, test: {split: test}}"
    )


def download(dataset_class: type, root: Path, arguments: Iterable[Mapping]) -> None:
    """Let torchvision download (and check) its files into root, once per set of constructor arguments."""
    for split_arguments in arguments:
        try:
            dataset_class(str(root), download=True, **split_arguments)
        except Exception as error:  # torchvision raises bare URLError/RuntimeError after trying its mirrors
            reason = " ".join(str(error).split())[:160]
            raise DataError(
                f"download failed ({type(error).__name__}: {reason}); with no network, set dataset.source.mirror to "
                "a local copy of the files"
            ) from error


def whole_array(dataset, first: Image.Image) -> torch.Tensor | None:
    """The class's `data` as uint8 (N, C, H, W) if it holds every image in a layout that gives `first` back."""
    data = getattr(dataset, "data", None)
    if data is None or len(data) != len(dataset):
        return None
    array = np.asarray(data)
    if array.dtype != np.uint8 or array.ndim not in (3, 4):
        return None
    images = torch.from_numpy(array)
    pixels = torch.from_numpy(np.array(first))
    expected = (pixels if pixels.ndim == 3 else pixels.unsqueeze(-1)).permute(2, 0, 1)
    layouts = [images.unsqueeze(1)] if images.ndim == 3 else [images.permute(0, 3, 1, 2), images]  # NHWC, NCHW
    return next((layout.contiguous() for layout in layouts if torch.equal(layout[0], expected)), None)


def label_list(dataset) -> torch.Tensor | None:
    for name in ("targets", "labels"):
        values = getattr(dataset, name, None)
        if values is not None and len(values) == len(dataset):
            return torch.as_tensor(np.asarray(values), dtype=torch.long)
    return None


def images_and_labels(dataset, decoder: ImageDecoder) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W) images and int64 labels of a torchvision dataset built without transforms."""
    first, _ = dataset[0]
    if not isinstance(first, Image.Image):
        raise DataError(
            f"{type(dataset).__name__}[0] is a {type(first).__name__}, not a PIL image; set "
            "dataset.source.torchvision_class to a class whose examples are PIL images (as torchvision's are)"
        )
    images = None if decoder.converts else whole_array(dataset, first)
    labels = label_list(dataset)
    if images is None or labels is None:
        examples = [dataset[index] for index in range(len(dataset))]
        images = torch.stack([decoder(image, f"{type(dataset).__name__}[{index}]")
                              for index, (image, _) in enumerate(examples)])  # fmt: skip
        labels = torch.tensor([int(label) for _, label in examples])
    return images, labels


class TorchvisionSource(ImageSource):
    """The files a torchvision dataset class keeps under root: downloaded by it, or copied from a mirror in the
    same layout. `split_arguments` chooses each raw split (inferred from the signature when null); `size` and
    `mode` convert images of several sizes or modes, as for image folders."""

    def __init__(
        self,
        torchvision_class: str,
        split_arguments: Mapping[str, Mapping] | None = None,
        size: Sequence[int] | None = None,
        mode: str | None = None,
        **settings,
    ) -> None:
        super().__init__(**settings)
        self.dataset_class = get_class(torchvision_class)
        if split_arguments and sorted(split_arguments) != sorted(RAW_SPLITS):
            raise BadInput(f"dataset.source.split_arguments names {sorted(split_arguments)}; give train and test")
        self.split_arguments = (
            {split: dict(arguments) for split, arguments in split_arguments.items()}
            if split_arguments
            else inferred_split_arguments(self.dataset_class)
        )
        self.decoder = ImageDecoder(size, mode)

    def present(self, directory: Path | None = None) -> bool:
        """Whether the class finds (and accepts) its files of every raw split in `directory` (default: root)."""
        directory = self.root if directory is None else directory
        try:
            for split in RAW_SPLITS:
                self.dataset_class(str(directory), **self.split_arguments[split])
        except (RuntimeError, OSError):  # torchvision: "Dataset not found or corrupted"
            return False
        return True

    def fetch(self) -> Path:
        """Keep what root has, else copy the mirror, else let torchvision download its files."""
        if self.present():
            return self.root
        if self.mirror is not None and self.present(self.mirror):
            shutil.copytree(self.mirror, self.root, dirs_exist_ok=True)
            return self.root
        if not self.download:
            raise DataError(
                f"no {self.dataset_class.__name__} files in {self.root} or the mirror {self.mirror}; set "
                "dataset.source.mirror to a copy in torchvision's layout, or dataset.source.download=true"
            )
        download(self.dataset_class, self.root, (self.split_arguments[split] for split in RAW_SPLITS))
        return self.root

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            dataset = self.dataset_class(str(self.root), **self.split_arguments[split])
        except (RuntimeError, OSError) as error:
            reason = " ".join(str(error).split())[:160]
            raise DataError(
                f"{self.dataset_class.__name__} cannot read {self.root} ({reason}); run `python "
                "pipelines/fetch_data.py dataset=<name>`, or delete it and fetch again"
            ) from error
        return images_and_labels(dataset, self.decoder)
