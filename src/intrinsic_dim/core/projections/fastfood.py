"""Fastfood projection (Le et al. 2013, as used by Li et al. 2018): P theta = S H G Pi H B theta.

B: random signs, H: Walsh-Hadamard transform, Pi: random permutation, G: Gaussian diagonal, S: keeps the
first D of L entries; theta is zero-padded to L, a power of two. Memory O(L), never a D x d matrix.

Because theta fills only the first b = nextpow2(d) entries, H_L (B theta) is H_b (B theta) tiled L/b times,
and only the first d entries of the last H_L of the backward pass are needed, which is H_b applied to the
L/b blocks summed. So one pass costs one transform of length L plus one of length b, not two of length L,
and Pi enters only through (Pi mod b): the exact same P as the textbook two-transform evaluation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from intrinsic_dim.core import counter_random
from intrinsic_dim.core.kernels import Segments, fastfood_backward, fastfood_forward, hadamard_
from intrinsic_dim.core.projections.base import Projection


def next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def draw_fastfood_row(in_size: int, length: int, seed: int, row: int, device=None):
    """Signs B (in_size,), permutation Pi (length,), Gaussian G (length,): row `row`'s randomness, from
    three streams of its own."""
    signs = counter_random.signs(seed, 3 * row, in_size, device)
    permutation = counter_random.permutation(length, seed, 3 * row + 1, device)
    gains = counter_random.normal(seed, 3 * row + 2, length, device)
    return signs, permutation, gains


class LengthGroup(nn.Module):
    """The long halves (Pi mod b, G) of the rows that share one padded length L, transformed as one batch,
    and where their outputs go: segment k of `segments` is parameter tensor `pieces[k]`."""

    def __init__(self, index: torch.Tensor, gains: torch.Tensor, segments: Segments, pieces: list[int]) -> None:
        super().__init__()
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("gains", gains, persistent=False)
        self.segments, self.pieces = segments, pieces

    @property
    def length(self) -> int:
        return self.index.shape[1]


class FastfoodMaps(nn.Module):
    """Independent Fastfood maps x -> P_r x, R^in_size -> R^(out size of row r), all fed by the same x.

    Row r produces the parameter tensors row_pieces[r], one after another (one row for all of D: Fastfood;
    one row per tensor: SAID). Rows padded to the same length L form a LengthGroup; row r's constants are drawn
    on `device` from the seed and r alone. Row r is scaled by
    1 / sqrt(out_size_r * sum(G_r^2)): a column of the full L-row map then has squared norm L / out_size_r,
    so its first out_size_r entries have unit norm in expectation.
    """

    def __init__(
        self, in_size: int, row_pieces: Sequence[Sequence[int]], piece_sizes: Sequence[int], seed: int, device=None
    ) -> None:
        super().__init__()
        self.in_size = in_size
        self.short_length = next_power_of_two(in_size)
        self.piece_sizes = list(piece_sizes)
        offsets = [0, *itertools.accumulate(self.piece_sizes)]
        out_sizes = [sum(self.piece_sizes[p] for p in pieces) for pieces in row_pieces]
        by_length: dict[int, list[int]] = {}
        for row, out_size in enumerate(out_sizes):
            by_length.setdefault(next_power_of_two(max(in_size, out_size)), []).append(row)
        self.groups = list(by_length.values())  # rows of each LengthGroup
        signs, groups = [], []
        for length, rows in by_length.items():
            index, gains, pieces, slots, starts = [], [], [], [], []
            for slot, row in enumerate(rows):
                row_signs, permutation, row_gains = draw_fastfood_row(in_size, length, seed, row, device)
                signs.append(row_signs)
                index.append((permutation % self.short_length).to(torch.int32))
                gains.append(row_gains / (out_sizes[row] * row_gains.double().square().sum()).sqrt().float())
                sizes = [self.piece_sizes[piece] for piece in row_pieces[row]]
                pieces += row_pieces[row]
                slots += [slot] * len(sizes)
                starts += [0, *itertools.accumulate(sizes)][:-1]
            segments = Segments(slots, starts, [self.piece_sizes[p] for p in pieces], [offsets[p] for p in pieces])
            groups.append(LengthGroup(torch.stack(index), torch.stack(gains), segments, pieces))
        self.length_groups = nn.ModuleList(groups)
        self.register_buffer("signs", torch.stack(signs), persistent=False)  # (rows, in_size), by group
        self.register_buffer("row_of_slot", torch.tensor(sum(self.groups, []), device=device), persistent=False)

    def forward(self, theta: torch.Tensor, row_scales: torch.Tensor | None, base: torch.Tensor | None, split: bool):
        """base + row_scales[r] * P_r theta for every row, as one flat vector of all pieces or (split) its
        views per piece: the backward then reads each piece's gradient where it lies."""
        return _FastfoodMapsFunction.apply(theta, row_scales, base, self, split)


class _FastfoodMapsFunction(torch.autograd.Function):
    """FastfoodMaps.forward, with a hand-written backward; all constants stay in the module."""

    @staticmethod
    def forward(theta, row_scales, base, maps: FastfoodMaps, split: bool):
        out = theta.new_empty(sum(maps.piece_sizes))
        short_rows = theta.new_zeros(len(maps.signs), maps.short_length)  # H_b B_r theta of every row
        short_rows[:, : maps.in_size] = maps.signs * theta
        hadamard_(short_rows)
        slot_scales = None if row_scales is None else row_scales[maps.row_of_slot]
        first = 0
        for group in maps.length_groups:
            rows = slice(first, first + group.index.shape[0])
            scales = None if slot_scales is None else slot_scales[rows]
            fastfood_forward(out, base, short_rows[rows], group.index, group.gains, scales, group.segments)
            first = rows.stop
        return out.split(maps.piece_sizes) if split else out

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        theta, row_scales, _, maps, split = inputs
        ctx.save_for_backward(theta, row_scales)
        ctx.maps, ctx.split = maps, split
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx, *grads):
        theta, row_scales = ctx.saved_tensors
        maps = ctx.maps
        if not ctx.split:
            grads = [None] * len(maps.piece_sizes) if grads[0] is None else grads[0].split(maps.piece_sizes)
        folds = torch.cat([
            fastfood_backward([grads[p] for p in group.pieces], group.segments, group.index, group.gains,
                              maps.short_length)
            for group in maps.length_groups
        ])  # fmt: skip
        transposed = hadamard_(folds)[:, : maps.in_size] * maps.signs  # slot s: P_r^T g_r of its row r
        grad_scales = None
        if row_scales is None:
            grad_theta = transposed.sum(0)
        else:  # d/dtheta sum_r s_r <g_r, P_r theta> = sum_r s_r P_r^T g_r; d/ds_r = <P_r^T g_r, theta>
            grad_theta = row_scales[maps.row_of_slot] @ transposed
            grad_scales = torch.zeros_like(row_scales).index_copy_(0, maps.row_of_slot, transposed @ theta)
        grad_base = None
        if ctx.needs_input_grad[2]:
            grad_base = torch.cat([g if g is not None else theta.new_zeros(size)
                                   for g, size in zip(grads, maps.piece_sizes, strict=True)])  # fmt: skip
        return grad_theta, grad_scales, grad_base, None, None


class FastfoodProjection(Projection):
    """One Fastfood over all D parameters (the 'DID' layout of Aghajanyan et al. 2020)."""

    kind = "fastfood"

    def __init__(self, sizes: Sequence[int], d: int, seed: int, device=None) -> None:
        super().__init__(sizes, d, seed)
        self.maps = FastfoodMaps(self.d, [range(len(self.sizes))], self.sizes, self.seed, device)

    def forward(self, theta_d: torch.Tensor) -> torch.Tensor:
        return self.maps(theta_d, None, None, split=False)

    def shifted(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> torch.Tensor:
        return self.maps(theta_d, None, theta_0, split=False)

    def pieces(self, theta_0: torch.Tensor, theta_d: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.maps(theta_d, None, theta_0, split=True)
