"""Fastfood projection (Le et al. 2013, as used by Li et al. 2018): P theta = S H G Pi H B theta.

B: random signs, H: Walsh-Hadamard transform, Pi: random permutation, G: Gaussian diagonal, S: keeps the
first D of L entries; theta is zero-padded to L, a power of two. Memory O(L), never a D x d matrix.

Because theta fills only the first b = nextpow2(d) entries, H_L (B theta) is H_b (B theta) tiled L/b times,
and only the first d entries of the last H_L of the backward pass are needed, which is H_b applied to the
L/b blocks summed. So one pass costs one transform of length L plus one of length b, not two of length L,
and Pi enters only through (Pi mod b): the exact same P as the textbook two-transform evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.kernels import fastfood_backward, fastfood_forward, hadamard_
from intrinsic_dim.projections.base import Projection


def next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def draw_fastfood_row(in_size: int, length: int, generator: torch.Generator):
    """Signs B (in_size,), permutation Pi (length,), Gaussian G (length,): one Fastfood's randomness."""
    signs = torch.randint(0, 2, (in_size,), generator=generator).mul_(2).sub_(1).float()
    permutation = torch.randperm(length, generator=generator)
    gains = torch.randn(length, generator=generator)
    return signs, permutation, gains


class _FastfoodBankFunction(torch.autograd.Function):
    """Concatenated first out_sizes[r] entries of row r of S H G Pi H B x; hand-written backward."""

    @staticmethod
    def forward(x, signs, index, gains, short_length, out_sizes):
        short_rows = x.new_zeros(gains.shape[0], short_length)
        short_rows[:, : x.numel()] = signs * x
        long_rows = fastfood_forward(hadamard_(short_rows), index, gains)
        if len(out_sizes) == 1:
            return long_rows[0, : out_sizes[0]]
        return torch.cat([row[:size] for row, size in zip(long_rows, out_sizes, strict=True)])

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, signs, index, gains, short_length, out_sizes = inputs
        ctx.save_for_backward(signs, index, gains)
        ctx.short_length, ctx.out_sizes = short_length, out_sizes

    @staticmethod
    def backward(ctx, grad_output):
        signs, index, gains = ctx.saved_tensors
        short_rows = hadamard_(
            fastfood_backward(grad_output.contiguous(), ctx.out_sizes, index, gains, ctx.short_length)
        )
        grad_x = (short_rows[:, : signs.shape[1]] * signs).sum(0)
        return grad_x, None, None, None, None, None


class FastfoodBank(nn.Module):
    """`len(out_sizes)` independent Fastfood maps R^in_size -> R^out_sizes[r], all padded to one length L.

    Row r is scaled by 1 / sqrt(out_sizes[r] * sum(G_r^2)): a column of the full L-row map then has squared
    norm L / out_sizes[r], so its first out_sizes[r] entries have unit norm in expectation.
    """

    def __init__(self, in_size: int, out_sizes: Sequence[int], generator: torch.Generator) -> None:
        super().__init__()
        self.in_size = in_size
        self.out_sizes = tuple(out_sizes)
        self.length = next_power_of_two(max(in_size, *self.out_sizes))
        self.short_length = next_power_of_two(in_size)
        signs, index, gains = [], [], []
        for out_size in self.out_sizes:
            row_signs, permutation, row_gains = draw_fastfood_row(in_size, self.length, generator)
            signs.append(row_signs)
            index.append((permutation % self.short_length).to(torch.int32))
            gains.append(row_gains / (out_size * row_gains.double().square().sum()).sqrt().float())
        self.register_buffer("signs", torch.stack(signs), persistent=False)
        self.register_buffer("index", torch.stack(index), persistent=False)
        self.register_buffer("gains", torch.stack(gains), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The rows' outputs, concatenated: (sum(out_sizes),)."""
        return _FastfoodBankFunction.apply(x, self.signs, self.index, self.gains, self.short_length, self.out_sizes)


class FastfoodProjection(Projection):
    """One Fastfood over all D parameters (the 'DID' layout of Aghajanyan et al. 2020)."""

    kind = "fastfood"

    def __init__(self, sizes: Sequence[int], d: int, seed: int) -> None:
        super().__init__(sizes, d, seed)
        self.bank = FastfoodBank(self.d, [self.D], self.generator())

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.bank(theta_d)
