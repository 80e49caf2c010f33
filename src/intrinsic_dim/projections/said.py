"""Structure-aware intrinsic dimension (SAID, Aghajanyan et al. 2020).

theta_i = theta_0,i + lambda_i * P_i theta for every parameter tensor i, with one Fastfood P_i per tensor
fed by the same theta and one trainable scale lambda_i per tensor (initialized to 1). The m scales count
toward the budget d, so theta has d - m entries. Tensors whose Fastfood has the same padded length share
one FastfoodBank, so a transformer's many equal-shaped tensors cost one batched transform.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.errors import BadInput
from intrinsic_dim.projections.base import Projection
from intrinsic_dim.projections.fastfood import FastfoodBank, next_power_of_two


class SAIDProjection(Projection):
    kind = "said"

    def __init__(self, sizes: Sequence[int], d: int, seed: int) -> None:
        super().__init__(sizes, d, seed)
        tensors = len(self.sizes)
        if self.d < self.min_dimension(tensors):
            raise BadInput(
                f"said spends one of d on each of the model's {tensors} parameter tensors, so it needs "
                f"d > {tensors}, got d={self.d}; increase d or use subspace kind 'fastfood'"
            )
        self.scales = nn.Parameter(torch.ones(tensors))
        by_length: dict[int, list[int]] = {}
        for index, size in enumerate(self.sizes):
            by_length.setdefault(next_power_of_two(max(size, self.trainable_size)), []).append(index)
        self.groups = list(by_length.values())
        generator = self.generator()  # banks draw their constants in this fixed order: P depends on the seed only
        self.banks = nn.ModuleList(
            FastfoodBank(self.trainable_size, [self.sizes[i] for i in members], generator) for members in self.groups
        )
        # (bank, row) of each tensor, in parameter order
        self._location = [None] * tensors
        for bank_index, members in enumerate(self.groups):
            for row, index in enumerate(members):
                self._location[index] = (bank_index, row)

    @staticmethod
    def min_dimension(tensors: int) -> int:
        return tensors + 1  # one scale per tensor, and at least one entry of theta

    @property
    def trainable_size(self) -> int:
        return self.d - len(self.sizes)

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        pieces = [bank(theta_d).split(bank.out_sizes) for bank in self.banks]
        scaled = [self.scales[index] * pieces[bank][row] for index, (bank, row) in enumerate(self._location)]
        return torch.cat(scaled)
