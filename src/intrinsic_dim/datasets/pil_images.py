"""PIL images as uint8 (C, H, W) tensors of one size and mode, so that a dataset stacks into one tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from intrinsic_dim.errors import DataError

PIXEL_MODES = ("L", "LA", "RGB", "RGBA")  # one uint8 per channel; others (P, 1, I;16, ...) need a conversion


class ImageDecoder:
    """Converts every image to `mode` and `size` ([height, width]) when they are given; otherwise checks that
    each image has the size and mode of the first one it decoded, across all the splits of a dataset."""

    def __init__(self, size: Sequence[int] | None = None, mode: str | None = None) -> None:
        self.size = tuple(size) if size is not None else None
        self.mode = mode
        self.first: tuple[str, str, tuple[int, int]] | None = None  # (where, mode, (height, width))

    @property
    def converts(self) -> bool:
        return self.size is not None or self.mode is not None

    def __call__(self, image: Image.Image, where: str) -> torch.Tensor:
        if self.mode is not None and image.mode != self.mode:
            image = image.convert(self.mode)
        if self.size is not None and image.size != self.size[::-1]:
            image = image.resize(self.size[::-1])  # PIL sizes are (width, height)
        self.check(where, image.mode, image.size[::-1])
        pixels = torch.from_numpy(np.array(image))
        return (pixels if pixels.ndim == 3 else pixels.unsqueeze(-1)).permute(2, 0, 1)

    def check(self, where: str, mode: str, size: tuple[int, int]) -> None:
        if self.first is None:
            if mode not in PIXEL_MODES:
                raise DataError(
                    f"{where} has mode {mode}, not one byte per channel; set dataset.source.mode=RGB (or L) to convert"
                )
            self.first = (where, mode, size)
            return
        first, first_mode, first_size = self.first
        if mode != first_mode:
            raise DataError(
                f"{where} has mode {mode} but {first} has {first_mode}; set dataset.source.mode={first_mode} (or "
                "another mode) to convert every image"
            )
        if size != first_size:
            raise DataError(
                f"{where} is {size[0]}x{size[1]} but {first} is {first_size[0]}x{first_size[1]}; set "
                f"dataset.source.size=[{first_size[0]},{first_size[1]}] (height, width) to resize every image"
            )
