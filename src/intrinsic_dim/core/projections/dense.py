"""Dense Gaussian projection with unit-norm columns (Li et al. 2018). Memory D*d: small problems only."""

from __future__ import annotations

from collections.abc import Sequence

import psutil
import torch

from intrinsic_dim.core.projections.base import Projection
from intrinsic_dim.errors import TooLarge


class DenseProjection(Projection):
    kind = "dense"

    def __init__(self, sizes: Sequence[int], d: int, seed: int) -> None:
        super().__init__(sizes, d, seed)
        needed = self.D * self.d * 4
        available = psutil.virtual_memory().available
        if needed > available:
            raise TooLarge(
                f"dense projection D={self.D} x d={self.d} needs {needed / 2**30:.1f} GiB but only "
                f"{available / 2**30:.1f} GiB is free; use subspace kind 'fastfood' or 'sparse'"
            )
        matrix = torch.randn(self.D, self.d, generator=self.generator())
        matrix /= torch.linalg.vector_norm(matrix, dim=0)
        self.register_buffer("matrix", matrix, persistent=False)

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.matrix @ theta_d

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        return torch.addmv(theta_0, self.matrix, theta_d)
