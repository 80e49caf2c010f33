"""Very sparse random projection (Li, Hastie, Church 2006): density 1/sqrt(D), unit-norm columns.

Column j has k_j ~ Binomial(D, 1/sqrt(D)) non-zeros (at least one) at distinct random rows, each
+-1/sqrt(k_j). P is stored as signed indices in two layouts, one for P theta and one for P^T g
(kernels.SparseLayout), and per column its scale. Memory O(nnz) throughout: no dense D x d tensor is ever
made, not even while sampling. Unlike the other kinds it is drawn by a seeded CPU generator (binomial column
counts) and then moved to its device: the compiled layout is built on the CPU anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from intrinsic_dim.core.kernels import SparseLayout, sparse_matvec, sparse_matvec_transposed
from intrinsic_dim.core.projections.base import Projection


class _SparseProduct(torch.autograd.Function):
    """base + P theta_d (base optional), with P^T as its backward."""

    @staticmethod
    def forward(theta_d, base, layout, scales):
        return sparse_matvec(layout, scales, theta_d, base)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.layout, ctx.scales = inputs[2], inputs[3]

    @staticmethod
    def backward(ctx, grad_output):
        grad_theta_d = sparse_matvec_transposed(ctx.layout, ctx.scales, grad_output.contiguous())
        return grad_theta_d, grad_output if ctx.needs_input_grad[1] else None, None, None


class SparseProjection(Projection):
    kind = "sparse"

    def __init__(self, sizes: Sequence[int], d: int, seed: int, device=None) -> None:
        super().__init__(sizes, d, seed)
        generator = torch.Generator().manual_seed(self.seed)  # drawn on the CPU, moved after (module docstring)
        density = 1.0 / math.sqrt(self.D)
        draws = torch.binomial(
            torch.full((self.d,), float(self.D)), torch.full((self.d,), density), generator=generator
        )
        draws = draws.to(torch.int64).clamp_(min=1)  # an empty column would be a dead direction
        cols = torch.repeat_interleave(torch.arange(self.d), draws)
        rows = torch.randint(self.D, (cols.numel(),), generator=generator)
        # A row drawn twice in one column becomes one entry; unique also sorts the entries by column, then row.
        keys = torch.unique(cols * self.D + rows)
        del cols, rows
        signs = torch.randint(0, 2, (keys.numel(),), generator=generator).mul_(2).sub_(1)
        cols = keys // self.D
        self.register_buffer("scales", torch.bincount(cols, minlength=self.d).float().rsqrt(), persistent=False)
        layout = SparseLayout.build(keys.remainder_(self.D), cols, signs, (self.D, self.d))
        for name in SparseLayout._fields[2:]:
            self.register_buffer(name, getattr(layout, name), persistent=False)
        self.to(device)

    @property
    def layout(self) -> SparseLayout:
        return SparseLayout(self.D, self.d, *(getattr(self, name) for name in SparseLayout._fields[2:]))

    @property
    def nnz(self) -> int:
        return self.signed_rows.numel()

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return _SparseProduct.apply(theta_d, None, self.layout, self.scales)

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        return _SparseProduct.apply(theta_d, theta_0, self.layout, self.scales)
