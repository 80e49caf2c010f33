"""Fast Walsh-Hadamard transform (unnormalized, entries of H are +-1) along the last dimension.

On CPU a small C++ kernel (csrc/hadamard.cpp) is compiled once per machine on first use; elsewhere, or if
no compiler is available, the transform runs as log-many small matmuls with Kronecker factors of H, which
suits GPUs. H is symmetric, so the backward pass is the same transform of the incoming gradient.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path

import torch

log = logging.getLogger(__name__)

_KERNEL_SOURCE = Path(__file__).parent / "csrc" / "hadamard.cpp"
_MATMUL_FACTOR_LOG2 = 6  # Kronecker factor H_64: big enough for efficient matmuls, small enough to stay cheap


def check_power_of_two(length: int) -> None:
    if length < 1 or length & (length - 1):
        raise ValueError(f"Hadamard transform needs a power-of-two length, got {length}; zero-pad the input")


@functools.cache
def compiled_kernel_available() -> bool:
    """Build (or load from the torch extensions cache) the CPU kernel; False if this machine cannot."""
    try:
        # Importing cpp_extension warns that CUDA is missing, which is irrelevant for a CPU-only build.
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        from torch.utils import cpp_extension

        cpp_extension.load(
            name="intrinsic_dim_hadamard",
            sources=[str(_KERNEL_SOURCE)],
            extra_cflags=["-O3", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            with_cuda=False,
            is_python_module=False,
        )
    except (RuntimeError, OSError, ImportError) as error:  # no compiler, no ninja, read-only cache, ...
        log.warning("Hadamard C++ kernel unavailable (%s); using the slower matmul transform", error)
        return False
    return True


@functools.cache
def _hadamard_matrix(order_log2: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    matrix = torch.ones(1, 1, dtype=dtype, device=device)
    for _ in range(order_log2):
        matrix = torch.cat([torch.cat([matrix, matrix], 1), torch.cat([matrix, -matrix], 1)], 0)
    return matrix


def hadamard_matmul(x: torch.Tensor) -> torch.Tensor:
    """Out-of-place transform as a product of Kronecker factors: H_L = H_a (x) H_b (x) ..."""
    length = x.shape[-1]
    check_power_of_two(length)
    remaining = int(math.log2(length))
    batch = x.numel() // length
    y = x.reshape(batch, length)
    inner = length  # product of the factor sizes not yet applied, all to the right of the current one
    while remaining > 0:
        factor_log2 = min(_MATMUL_FACTOR_LOG2, remaining)
        factor = 1 << factor_log2
        inner //= factor
        matrix = _hadamard_matrix(factor_log2, x.dtype, x.device)
        if inner == 1:
            y = y.reshape(-1, factor) @ matrix  # H is symmetric; a plain GEMM beats a batch of matvecs
        else:
            y = torch.matmul(matrix, y.reshape(-1, factor, inner))
        remaining -= factor_log2
    return y.reshape(x.shape)


def hadamard_(x: torch.Tensor) -> torch.Tensor:
    """In-place transform of a contiguous tensor along its last dimension; not tracked by autograd."""
    check_power_of_two(x.shape[-1])
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and compiled_kernel_available():
        return torch.ops.intrinsic_dim.hadamard_(x)
    return x.copy_(hadamard_matmul(x))


class _HadamardTransform(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return hadamard_(x.contiguous().clone())

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        # d(Hx)/dx = H^T = H with the same (absent) normalization, so the gradient is never rescaled.
        return _HadamardTransform.apply(grad_output)


def hadamard_transform(x: torch.Tensor) -> torch.Tensor:
    """Differentiable y = x H along the last dimension (H unnormalized, so H H = L I)."""
    return _HadamardTransform.apply(x)
