"""Fastfood projection (Le et al. 2013, as used by Li et al. 2018): P theta = S H G Pi H B theta.

B: random signs, H: Walsh-Hadamard transform, Pi: random permutation, G: Gaussian diagonal, S: keeps the
first D of L entries. theta is zero-padded to L, a power of two. Memory O(L), never a D x d matrix.
Each row of a FastfoodBank is an independent Fastfood map of the same input; SAID uses one row per tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.hadamard import hadamard_
from intrinsic_dim.projections.base import Projection


def next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class _FastfoodBankFunction(torch.autograd.Function):
    """Rows of S H G Pi H B x, with a hand-written backward B H Pi^T G H S^T that reuses the in-place kernel."""

    @staticmethod
    def forward(x, signs, permutation, inverse_permutation, gains):
        rows, length = gains.shape
        buffer = x.new_zeros(rows, length)
        buffer[:, : x.numel()] = signs * x
        hadamard_(buffer)
        buffer = buffer.view(-1).index_select(0, permutation).view(rows, length)
        buffer *= gains
        return hadamard_(buffer)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, signs, _, inverse_permutation, gains = inputs
        ctx.save_for_backward(signs, inverse_permutation, gains)
        ctx.input_size = x.numel()

    @staticmethod
    def backward(ctx, grad_output):
        signs, inverse_permutation, gains = ctx.saved_tensors
        rows, length = gains.shape
        buffer = hadamard_(grad_output.contiguous().clone())
        buffer *= gains
        buffer = buffer.view(-1).index_select(0, inverse_permutation).view(rows, length)
        hadamard_(buffer)
        grad_x = (buffer[:, : ctx.input_size] * signs).sum(0)
        return grad_x, None, None, None, None


class FastfoodBank(nn.Module):
    """`len(out_sizes)` independent Fastfood maps R^d -> R^{out_sizes[i]}, all padded to one length L.

    Row i is scaled by 1 / sqrt(out_sizes[i] * sum(G_i^2)): a column of the full L x d map then has squared
    norm L / out_sizes[i], so after keeping out_sizes[i] of its L entries it has unit norm in expectation.
    """

    def __init__(self, in_size: int, out_sizes: Sequence[int], generator: torch.Generator) -> None:
        super().__init__()
        self.in_size = in_size
        self.out_sizes = tuple(out_sizes)
        self.length = next_power_of_two(max(in_size, *self.out_sizes))
        rows = len(self.out_sizes)
        signs, permutations, gains = [], [], []
        for _ in range(rows):
            signs.append(torch.randint(0, 2, (in_size,), generator=generator).mul_(2).sub_(1).float())
            permutations.append(torch.randperm(self.length, generator=generator))
            gains.append(torch.randn(self.length, generator=generator))
        gains = torch.stack(gains)
        out_sizes = torch.tensor(self.out_sizes, dtype=torch.float64).unsqueeze(1)
        gains /= (out_sizes * gains.double().square().sum(1, keepdim=True)).sqrt().float()
        # Flat indices into the (rows, L) buffer; int32 halves the memory of the largest buffers here.
        offsets = torch.arange(rows)[:, None] * self.length
        flat = (torch.stack(permutations) + offsets).view(-1)
        index_dtype = torch.int32 if rows * self.length < 2**31 else torch.int64
        self.register_buffer("signs", torch.stack(signs), persistent=False)
        self.register_buffer("gains", gains, persistent=False)
        self.register_buffer("permutation", flat.to(index_dtype), persistent=False)
        self.register_buffer("inverse_permutation", torch.argsort(flat).to(index_dtype), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, L) outputs; row i holds its map's output in its first out_sizes[i] entries."""
        return _FastfoodBankFunction.apply(x, self.signs, self.permutation, self.inverse_permutation, self.gains)


class FastfoodProjection(Projection):
    """One Fastfood over all D parameters (the 'DID' layout of Aghajanyan et al. 2020)."""

    kind = "fastfood"

    def __init__(self, sizes: Sequence[int], d: int, seed: int) -> None:
        super().__init__(sizes, d, seed)
        self.bank = FastfoodBank(self.d, [self.D], self.generator())

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.bank(theta_d)[0, : self.D]
