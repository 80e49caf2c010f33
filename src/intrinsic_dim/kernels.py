"""Low-level ops of the projections, each with a compiled CPU kernel and a torch-ops version.

The CPU kernels (csrc/kernels.cpp) are compiled once per machine on first use, for this CPU's instruction
set (the build is named after it, so a home directory shared by different nodes keeps one build per CPU
type). On other devices, or where no compiler is available, the torch-ops versions run instead: they
are written as matmuls, gathers and scatter-adds, which suit GPUs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from pathlib import Path

import torch

from intrinsic_dim.errors import BadInput

log = logging.getLogger(__name__)

_SOURCE = Path(__file__).parent / "csrc" / "kernels.cpp"
_MATMUL_FACTOR_LOG2 = 6  # Kronecker factor H_64: large enough for efficient matmuls, small enough to be cheap


def _cpu_tag() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = "unknown"
    return hashlib.sha256(flags.encode()).hexdigest()[:10]


@functools.cache
def compiled_kernels_available() -> bool:
    """Build (or load from the torch extensions cache) the CPU kernels; False if this machine cannot."""
    try:
        # Importing cpp_extension warns that CUDA is missing, which is irrelevant for a CPU-only build.
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        from torch.utils import cpp_extension

        cpp_extension.load(
            name=f"intrinsic_dim_kernels_{_cpu_tag()}",
            sources=[str(_SOURCE)],
            extra_cflags=["-O3", "-march=native", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            with_cuda=False,
            is_python_module=False,
        )
    except (RuntimeError, OSError, ImportError) as error:  # no compiler, no ninja, read-only cache, ...
        log.warning("compiled Fastfood kernels unavailable (%s); using slower torch ops", error)
        return False
    return True


def _use_compiled(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and compiled_kernels_available()


def check_power_of_two(length: int) -> None:
    if length < 1 or length & (length - 1):
        raise BadInput(f"Hadamard transform needs a power-of-two length, got {length}; zero-pad the input")


@functools.cache
def _hadamard_matrix(order_log2: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    matrix = torch.ones(1, 1, dtype=dtype, device=device)
    for _ in range(order_log2):
        matrix = torch.cat([torch.cat([matrix, matrix], 1), torch.cat([matrix, -matrix], 1)], 0)
    return matrix


def hadamard_matmul(x: torch.Tensor) -> torch.Tensor:
    """Out-of-place transform along the last dimension as Kronecker factors: H_L = H_a (x) H_b (x) ..."""
    length = x.shape[-1]
    check_power_of_two(length)
    remaining = int(math.log2(length))
    y = x.reshape(-1, length)
    inner = length  # product of the factor sizes not applied yet, all to the right of the current one
    while remaining > 0:
        factor_log2 = min(_MATMUL_FACTOR_LOG2, remaining)
        factor = 1 << factor_log2
        inner //= factor
        matrix = _hadamard_matrix(factor_log2, x.dtype, x.device)
        if inner == 1:
            y = y.reshape(-1, factor) @ matrix  # H is symmetric; one GEMM beats a batch of matvecs
        else:
            y = torch.matmul(matrix, y.reshape(-1, factor, inner))
        remaining -= factor_log2
    return y.reshape(x.shape)


def hadamard_(x: torch.Tensor) -> torch.Tensor:
    """In-place unnormalized transform of a contiguous tensor along its last dimension (no autograd)."""
    check_power_of_two(x.shape[-1])
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.hadamard_(x)
    return x.copy_(hadamard_matmul(x))


def hadamard(x: torch.Tensor) -> torch.Tensor:
    """Out-of-place unnormalized transform of a contiguous tensor along its last dimension (no autograd)."""
    check_power_of_two(x.shape[-1])
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.hadamard(x)
    return hadamard_matmul(x)


def fastfood_forward(short_rows: torch.Tensor, index: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Rows of H_L (short_rows[r, index[r, i]] * gains[r, i])_i: (rows, b) -> (rows, L)."""
    if _use_compiled(gains):
        return torch.ops.intrinsic_dim.fastfood_forward(short_rows, index, gains)
    return hadamard_(short_rows.gather(1, index.long()) * gains)


def fastfood_backward(
    grad: torch.Tensor, out_sizes: list[int], index: torch.Tensor, gains: torch.Tensor, width: int
) -> torch.Tensor:
    """Transpose of fastfood_forward, fed the first out_sizes[r] entries of each row, concatenated in grad."""
    if _use_compiled(gains):
        return torch.ops.intrinsic_dim.fastfood_backward(grad, out_sizes, index, gains, width)
    long_rows = grad.new_zeros(gains.shape)
    for row, piece in zip(long_rows, grad.split(out_sizes), strict=True):
        row[: piece.numel()] = piece
    return grad.new_zeros(gains.shape[0], width).scatter_add_(1, index.long(), hadamard_(long_rows) * gains)


def _sparse_entries(row_starts: torch.Tensor, signed_cols: torch.Tensor):
    """Row, column and sign of every non-zero of a compressed-rows sparse matrix."""
    rows = torch.repeat_interleave(torch.arange(row_starts.numel() - 1, device=row_starts.device), row_starts.diff())
    return rows, signed_cols.abs().long() - 1, signed_cols.sign()


def sparse_matvec(
    row_starts: torch.Tensor, signed_cols: torch.Tensor, scales: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """P x, where row r of P holds sign(s) * scales[|s| - 1] at column |s| - 1 for s in its signed_cols."""
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.sparse_matvec(row_starts, signed_cols, scales, x)
    rows, cols, signs = _sparse_entries(row_starts, signed_cols)
    return x.new_zeros(row_starts.numel() - 1).index_add_(0, rows, signs.to(x.dtype) * (x * scales)[cols])


def sparse_matvec_transposed(
    row_starts: torch.Tensor, signed_cols: torch.Tensor, scales: torch.Tensor, g: torch.Tensor
) -> torch.Tensor:
    """P^T g for the same compressed-rows P, without building P^T."""
    if _use_compiled(g):
        return torch.ops.intrinsic_dim.sparse_matvec_transposed(row_starts, signed_cols, scales, g)
    rows, cols, signs = _sparse_entries(row_starts, signed_cols)
    return g.new_zeros(scales.numel()).index_add_(0, cols, signs.to(g.dtype) * g[rows]) * scales
