"""Structure-aware intrinsic dimension (SAID, Aghajanyan et al. 2020).

theta_i = theta_0,i + lambda_i * P_i theta for every parameter tensor i, with one Fastfood P_i per tensor
fed by the same theta and one trainable scale lambda_i per tensor (initialized to 1). The m scales count
toward the budget d, so theta has d - m entries. Tensors whose Fastfood has the same padded length are
transformed as one batch (FastfoodMaps), so a transformer's many equal-shaped tensors cost one batched
transform, and every tensor is written, scaled and added to theta_0, straight from its transform.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.core.projections.base import Projection
from intrinsic_dim.core.projections.fastfood import FastfoodMaps
from intrinsic_dim.errors import BadInput


class SAIDProjection(Projection):
    kind = "said"

    def __init__(self, sizes: Sequence[int], d: int, seed: int, device=None) -> None:
        super().__init__(sizes, d, seed)
        tensors = len(self.sizes)
        if self.d < self.min_dimension(tensors):
            raise BadInput(
                f"said spends one of d on each of the model's {tensors} parameter tensors, so it needs "
                f"d > {tensors}, got d={self.d}; increase d or use subspace kind 'fastfood'"
            )
        self.scales = nn.Parameter(torch.ones(tensors, device=device))
        self.maps = FastfoodMaps(self.trainable_size, [[i] for i in range(tensors)], self.sizes, self.seed, device)

    @staticmethod
    def min_dimension(tensors: int) -> int:
        return tensors + 1  # one scale per tensor, and at least one entry of theta

    @property
    def trainable_size(self) -> int:
        return self.d - len(self.sizes)

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.maps(theta_d, self.scales, None, split=False)

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        return self.maps(theta_d, self.scales, theta_0, split=False)

    def pieces(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.maps(theta_d, self.scales, theta_0, split=True)
