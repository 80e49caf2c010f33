"""Dense Gaussian projection with unit-norm columns (Li et al. 2018). Memory D*d: small problems only."""

from __future__ import annotations

from collections.abc import Sequence

import psutil
import torch

from intrinsic_dim.core import counter_random
from intrinsic_dim.core.projections.base import Projection
from intrinsic_dim.errors import TooLarge

_DRAWN_AT_ONCE = 2**22  # entries per chunk of the draw: its float64 temporaries stay small beside the matrix


def free_bytes(device: torch.device) -> int:
    """Memory free for new tensors on `device`: the GPU's own for CUDA, the host's otherwise."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return psutil.virtual_memory().available


class DenseProjection(Projection):
    kind = "dense"

    def __init__(self, sizes: Sequence[int], d: int, seed: int, device=None) -> None:
        super().__init__(sizes, d, seed)
        device = torch.device("cpu" if device is None else device)
        needed, available = self.D * self.d * 4, free_bytes(device)
        if needed > available:
            raise TooLarge(
                f"dense projection D={self.D} x d={self.d} needs {needed / 2**30:.1f} GiB but only "
                f"{available / 2**30:.1f} GiB is free on {device}; use subspace kind 'fastfood' or 'sparse'"
            )
        matrix = torch.empty(self.D, self.d, device=device)
        rows_at_once = max(1, _DRAWN_AT_ONCE // self.d)
        for first in range(0, self.D, rows_at_once):
            rows = matrix[first : first + rows_at_once]
            rows.copy_(counter_random.normal(self.seed, 0, rows.numel(), device, first * self.d).view_as(rows))
        matrix /= torch.linalg.vector_norm(matrix, dim=0)
        self.register_buffer("matrix", matrix, persistent=False)

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.matrix @ theta_d

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        return torch.addmv(theta_0, self.matrix, theta_d)
