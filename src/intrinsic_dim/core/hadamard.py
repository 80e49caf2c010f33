"""Differentiable fast Walsh-Hadamard transform (unnormalized: entries of H are +-1, so H H = L I)."""

from __future__ import annotations

import torch

from intrinsic_dim.core.kernels import hadamard


class _HadamardTransform(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return hadamard(x.contiguous())

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        # d(Hx)/dx = H^T = H, with the same (absent) normalization: the gradient is never rescaled.
        return _HadamardTransform.apply(grad_output)


def hadamard_transform(x: torch.Tensor) -> torch.Tensor:
    """y = x H along the last dimension, whose length must be a power of two."""
    return _HadamardTransform.apply(x)
