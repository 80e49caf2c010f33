"""What every projection shares: its identity (kind, seed, d, parameter sizes) and input checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.errors import BadInput


class Projection(nn.Module):
    """theta_d (trainable_size,) -> offset of all D parameters (D,), flattened in parameter order.

    Every random constant is a function of `seed` alone, drawn on `device` (where the map will live) by
    `counter_random`, whose numbers are the same on every device, or (sparse) by a seeded CPU generator: the map
    is the same in every process and on every device. Constants are non-persistent buffers: they never enter a
    checkpoint and are rebuilt from (kind, seed, d, sizes).
    """

    kind: str

    def __init__(self, sizes: Sequence[int], d: int, seed: int, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.sizes = tuple(int(size) for size in sizes)
        self.D = sum(self.sizes)
        self.d = int(d)
        self.seed = int(seed)
        if not self.sizes or min(self.sizes) <= 0:
            raise BadInput(f"{self.kind} projection needs at least one non-empty parameter tensor, got {sizes}")
        if self.d <= 0:
            raise BadInput(f"subspace dimension d must be positive, got d={self.d}")
        if self.d > self.D:
            raise BadInput(
                f"d={self.d} exceeds the number of trainable parameters D={self.D}; "
                "choose d <= D (or subspace=none to train in the full space)"
            )

    @staticmethod
    def min_dimension(tensors: int) -> int:
        """The smallest d this kind accepts for a model with `tensors` parameter tensors."""
        return 1

    @property
    def trainable_size(self) -> int:
        """Length of theta_d; kinds with extra trainable scalars (SAID) spend part of d on them."""
        return self.d

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        """theta_0 + P theta_d, (D,); kinds that can fuse the addition into the product override it."""
        return theta_0 + self(theta_d)

    def pieces(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """theta_0 + P theta_d split into the parameter tensors (flat), the form a forward pass consumes.

        Kinds whose backward can read each tensor's gradient where it lies override it, saving the
        concatenation of D gradient entries that the backward of a split makes.
        """
        return self.shifted(theta_0, theta_d).split(self.sizes)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, d={self.d}, D={self.D}, seed={self.seed}"
