"""The projections' ops written as torch operations: what GPUs run (and CPUs without a compiler).

Built for paper scale (L = 2^29 for RoBERTa-large): int32 indices read in place by `index_select` and
`index_add_` (a `gather` or `scatter_add_` would copy them to int64 on every pass), the pieces of many
tensors copied by one foreach call, constants derived once per index tensor and kept while it lives, no
host sync. Matmuls run in full float32 whatever the global matmul precision: TF32 would round the +-1
Hadamard factors' inputs to 10 bits. CPU runs with the compiled kernels never execute this module, so its
changes leave their run keys alone (`runs.identity`).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.weak import WeakTensorKeyDictionary

_MATMUL_FACTOR_LOG2 = 6  # Kronecker factor H_64: large enough for efficient matmuls, small enough to be cheap
_FLAT_INDICES = WeakTensorKeyDictionary()  # row-local index (rows, L) -> flat int32 index into (rows * b,)
_COORDINATES = WeakTensorKeyDictionary()  # a sparse layout's signed rows -> (rows, columns, signs) of its entries


@contextlib.contextmanager
def full_float32_matmuls() -> Iterator[None]:
    """Matmuls in full float32 inside (no TF32), restoring the caller's precision after."""
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


@functools.cache
def _hadamard_matrix(order_log2: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    matrix = torch.ones(1, 1, dtype=dtype, device=device)
    for _ in range(order_log2):
        matrix = torch.cat([torch.cat([matrix, matrix], 1), torch.cat([matrix, -matrix], 1)], 0)
    return matrix


def hadamard_matmul(x: torch.Tensor) -> torch.Tensor:
    """Out-of-place transform along the last dimension as Kronecker factors: H_L = H_a (x) H_b (x) ...

    Two buffers of x's size alternate as each factor's input and output, whatever the number of factors.
    """
    length = x.shape[-1]
    remaining = int(math.log2(length))
    source, target = x.reshape(-1, length), None
    inner = length  # product of the factor sizes not applied yet, all to the right of the current one
    with full_float32_matmuls():
        while remaining > 0:
            factor_log2 = min(_MATMUL_FACTOR_LOG2, remaining)
            factor = 1 << factor_log2
            inner //= factor
            matrix = _hadamard_matrix(factor_log2, x.dtype, x.device)
            if target is None or target.data_ptr() == x.data_ptr():
                target = torch.empty_like(source)
            if inner == 1:  # H is symmetric; one GEMM beats a batch of matvecs
                torch.matmul(source.view(-1, factor), matrix, out=target.view(-1, factor))
            else:
                torch.matmul(matrix, source.view(-1, factor, inner), out=target.view(-1, factor, inner))
            source, target = target, source
            remaining -= factor_log2
    return source.view(x.shape)


def _segment_views(tensor_2d: torch.Tensor, rows: Sequence[int], starts: Sequence[int], sizes: Sequence[int]):
    return [tensor_2d[row, start : start + size] for row, start, size in zip(rows, starts, sizes, strict=True)]


def _flat_views(flat: torch.Tensor, offsets: Sequence[int], sizes: Sequence[int]):
    return [flat[offset : offset + size] for offset, size in zip(offsets, sizes, strict=True)]


def fastfood_forward(out, base, short_rows, index, gains, scales, segments) -> None:
    """kernels.fastfood_forward with torch ops; the short rows' width is the one the index was drawn for."""
    rows, length = index.shape
    gathered = short_rows.reshape(-1).index_select(0, _flat_index_for(index, short_rows.shape[1]))
    long_rows = hadamard_matmul(gathered.view(rows, length).mul_(gains))
    if scales is not None:
        long_rows.mul_(scales.unsqueeze(1))
    targets = _flat_views(out, segments.offsets, segments.sizes)
    torch._foreach_copy_(targets, _segment_views(long_rows, *segments[:3]))
    if base is not None:
        torch._foreach_add_(targets, _flat_views(base, segments.offsets, segments.sizes))


def fastfood_backward(grads, segments, index, gains, width: int) -> torch.Tensor:
    """kernels.fastfood_backward with torch ops."""
    long_rows = gains.new_zeros(gains.shape)
    given = [k for k, grad in enumerate(grads) if grad is not None]
    if given:
        views = _segment_views(long_rows, *segments[:3])
        torch._foreach_copy_([views[k] for k in given], [grads[k].reshape(-1) for k in given])
    folded = gains.new_zeros(gains.shape[0] * width)
    folded.index_add_(0, _flat_index_for(index, width), hadamard_matmul(long_rows).mul_(gains).view(-1))
    return folded.view(gains.shape[0], width)


def _flat_index_for(index: torch.Tensor, width: int) -> torch.Tensor:
    """index (rows, L) of columns of a (rows, width) tensor as positions in its flat view, int32: derived once
    per index tensor (a view for one row)."""
    rows = index.shape[0]
    if rows == 1:
        return index.view(-1)
    if index not in _FLAT_INDICES:
        offsets = torch.arange(rows, dtype=torch.int32, device=index.device).mul_(width)
        _FLAT_INDICES[index] = (index + offsets.unsqueeze(1)).view(-1)
    return _FLAT_INDICES[index]


def _coordinates(layout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row and column (int32) and sign of every non-zero of a SparseLayout, derived once per layout."""
    if layout.signed_rows not in _COORDINATES:
        rows, cols, signs = layout.coordinates()
        _COORDINATES[layout.signed_rows] = (rows.to(torch.int32), cols.to(torch.int32), signs)
    return _COORDINATES[layout.signed_rows]


def sparse_matvec(layout, scales: torch.Tensor, x: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
    """kernels.sparse_matvec with torch ops."""
    rows, cols, signs = _coordinates(layout)
    out = x.new_zeros(layout.rows) if base is None else base.clone()
    return out.index_add_(0, rows, (x * scales).index_select(0, cols).mul_(signs))


def sparse_matvec_transposed(layout, scales: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """kernels.sparse_matvec_transposed with torch ops."""
    rows, cols, signs = _coordinates(layout)
    return g.new_zeros(scales.numel()).index_add_(0, cols, g.index_select(0, rows).mul_(signs)).mul_(scales)
