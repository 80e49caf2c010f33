"""Image-classification datasets in ImageFolder layout: per split, a folder of class folders (`<class>/<file>`)
or a tar archive of them (the CIFAR-10 mirror's `train.tar` holds `train/<class>/<id>.jpg`), decoded once by the
prepare stage. Optionally torchvision downloads the same dataset in its own files when no copy is there
(`download_with`: CIFAR-10 keeps its download path for users with a network this way).
"""

from __future__ import annotations

import contextlib
import functools
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import IO

import torch
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from intrinsic_dim.datasets.image_source import RAW_SPLITS, ImageSource
from intrinsic_dim.datasets.pil_images import ImageDecoder
from intrinsic_dim.datasets.raw_files import RawFiles
from intrinsic_dim.datasets.torchvision_classes import TorchvisionSource
from intrinsic_dim.errors import BadInput, DataError


@contextlib.contextmanager
def image_files(path: Path) -> Iterator[list[tuple[str, Callable[[], IO[bytes]]]]]:
    """The image files of a folder or a tar archive in name order, as (path inside it, a function opening it).

    Other files (README, .DS_Store) are skipped, as torchvision's ImageFolder skips them.
    """
    if path.is_dir():
        files = [file for file in path.rglob("*") if file.is_file() and file.name.lower().endswith(IMG_EXTENSIONS)]
        yield sorted(((file.relative_to(path).as_posix(), functools.partial(file.open, "rb")) for file in files),
                     key=itemgetter(0))  # fmt: skip
        return
    with tarfile.open(path) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.lower().endswith(IMG_EXTENSIONS)]
        yield sorted(((m.name, functools.partial(archive.extractfile, m)) for m in members), key=itemgetter(0))


def class_folder(path: Path, name: str) -> str:
    folder = PurePosixPath(name).parent.name
    if not folder:
        raise DataError(f"{path}: {name} is in no class folder; arrange each split as <class>/<file>")
    return folder


def unreadable(path: Path, error: Exception) -> DataError:
    reason = " ".join(str(error).split())
    return DataError(f"cannot read {path} as a folder or tar of images ({reason}); delete it and fetch it again")


def class_names(path: Path) -> list[str]:
    """The sorted names of a split's class folders: torchvision ImageFolder's label order."""
    try:
        with image_files(path) as files:
            return sorted({class_folder(path, name) for name, _ in files})
    except (tarfile.TarError, OSError) as error:
        raise unreadable(path, error) from error


def read_images(
    path: Path, classes: Sequence[str], decoder: ImageDecoder | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of a split's folder or tar as uint8 (N, C, H, W), in name order, and its class's index."""
    decoder = decoder or ImageDecoder()
    index = {name: label for label, name in enumerate(classes)}
    images, labels = [], []
    try:
        with image_files(path) as files:
            for name, open_file in files:
                folder = class_folder(path, name)
                if folder not in index:
                    raise DataError(
                        f"{path}: {name} is in the class folder {folder!r}, which dataset.source.classes does not "
                        "list; add it there or remove the folder"
                    )
                with open_file() as handle, Image.open(handle) as image:
                    images.append(decoder(image, f"{path}:{name}"))
                labels.append(index[folder])
    except (tarfile.TarError, OSError) as error:  # PIL's UnidentifiedImageError is an OSError
        raise unreadable(path, error) from error
    if not images:
        raise DataError(f"{path} holds no image files ({' '.join(IMG_EXTENSIONS)}); fetch it again")
    return torch.stack(images), torch.tensor(labels)


class ImageFolderSource(ImageSource):
    def __init__(
        self,
        splits: Mapping[str, str],
        classes: Sequence[str] | None = None,
        size: Sequence[int] | None = None,
        mode: str | None = None,
        sha256: Mapping[str, str | None] | None = None,
        download_with: str | None = None,
        **settings,
    ) -> None:
        super().__init__(**settings)
        if sorted(splits) != sorted(RAW_SPLITS):
            raise BadInput(
                f"dataset.source.splits names {sorted(splits)}; give train and test (a folder or a tar each): the "
                "validation split is carved from train"
            )
        self.splits = dict(splits)  # split -> folder or tar, relative to root
        self.raw = RawFiles(self.root, self.mirror, self.splits, sha256 or {})  # digests by split
        self.classes = list(classes) if classes else None  # None: the sorted class folders of the train split
        self.decoder = ImageDecoder(size, mode)  # one for all splits: train and test get one size and mode
        self.torchvision = TorchvisionSource(download_with, **{**settings, "mirror": None}) if download_with else None

    def fetch(self) -> Path:
        """Keep what root has, else copy the mirror's folders or tars, else let torchvision download its files."""
        if self.raw.fetch():
            return self.root
        if self.torchvision is not None and (self.download or self.torchvision.present()):
            return self.torchvision.fetch()
        or_download = (
            f", or dataset.source.download=true to download it with {self.torchvision.dataset_class.__name__}"
            if self.torchvision is not None
            else ""
        )
        raise DataError(
            f"no {', '.join(self.splits.values())} in {self.root} or the mirror {self.mirror}; set "
            f"dataset.source.mirror to a folder that has them{or_download}"
        )

    def label_order(self) -> list[str]:
        if self.classes is None:
            self.classes = class_names(self.raw.checked("train"))
        return self.classes

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.torchvision is not None and not self.raw.present():  # torchvision's own download is there instead
            return self.torchvision.load_split(split)
        return read_images(self.raw.checked(split), self.label_order(), self.decoder)
