"""Very sparse random projection (Li, Hastie, Church 2006): density 1/sqrt(D), unit-norm columns.

Column j has k_j ~ Binomial(D, 1/sqrt(D)) non-zeros (at least one) at distinct random rows, each
+-1/sqrt(k_j). P is stored once, in compressed rows: per non-zero only a signed column index
(sign * (column + 1), int16 when d < 2^15), per column its scale. Memory O(nnz) throughout: no dense
D x d tensor is ever made, not even while sampling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from intrinsic_dim.kernels import sparse_matvec, sparse_matvec_transposed
from intrinsic_dim.projections.base import Projection


class _SparseMatVec(torch.autograd.Function):
    @staticmethod
    def forward(theta_d, row_starts, signed_cols, scales):
        return sparse_matvec(row_starts, signed_cols, scales, theta_d)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(*inputs[1:])

    @staticmethod
    def backward(ctx, grad_output):
        return sparse_matvec_transposed(*ctx.saved_tensors, grad_output.contiguous()), None, None, None


class SparseProjection(Projection):
    kind = "sparse"

    def __init__(self, sizes: Sequence[int], d: int, seed: int) -> None:
        super().__init__(sizes, d, seed)
        generator = self.generator()
        density = 1.0 / math.sqrt(self.D)
        draws = torch.binomial(
            torch.full((self.d,), float(self.D)), torch.full((self.d,), density), generator=generator
        )
        draws = draws.to(torch.int64).clamp_(min=1)  # an empty column would be a dead direction
        cols = torch.repeat_interleave(torch.arange(self.d), draws)
        rows = torch.randint(self.D, (cols.numel(),), generator=generator)
        # A row drawn twice in one column becomes one entry; unique also sorts the entries by column.
        keys = torch.unique(cols * self.D + rows)
        cols, rows = keys // self.D, keys % self.D
        signs = torch.randint(0, 2, (keys.numel(),), generator=generator).mul_(2).sub_(1)

        row_major = torch.argsort(rows * self.d + cols)
        rows, signed_cols = rows[row_major], (signs * (cols + 1))[row_major]
        index_dtype = torch.int32 if keys.numel() < 2**31 else torch.int64
        row_starts = torch.zeros(self.D + 1, dtype=torch.int64)
        row_starts[1:] = torch.cumsum(torch.bincount(rows, minlength=self.D), 0)
        self.register_buffer("row_starts", row_starts.to(index_dtype), persistent=False)
        col_dtype = torch.int16 if self.d < 2**15 else torch.int32
        self.register_buffer("signed_cols", signed_cols.to(col_dtype), persistent=False)
        scales = torch.bincount(cols, minlength=self.d).float().rsqrt()
        self.register_buffer("scales", scales, persistent=False)

    @property
    def nnz(self) -> int:
        return self.signed_cols.numel()

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return _SparseMatVec.apply(theta_d, self.row_starts, self.signed_cols, self.scales)
