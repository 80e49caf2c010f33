import math
import subprocess
import sys

import pytest
import scipy.linalg
import torch

from intrinsic_dim.core import hadamard, kernels, torch_ops


def test_compiled_kernels_build_on_this_machine():
    assert kernels.compiled_kernels_available()


@pytest.mark.parametrize("log_length", [0, 1, 2, 3, 4, 7, 10, 12])
def test_matches_scipy_hadamard(implementation, log_length):
    length = 2**log_length
    x = torch.randn(3, length, dtype=torch.float64)
    expected = x @ torch.from_numpy(scipy.linalg.hadamard(length)).double()
    assert torch.allclose(hadamard.hadamard_transform(x), expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("log_length", [15, 16, 17, 20])
def test_large_lengths_cross_block_boundaries(implementation, log_length):
    """H H = L I, and H e_k is column k of H: checks the stages that span the kernel's cache blocks."""
    length = 2**log_length
    x = torch.randn(2, length, dtype=torch.float64)
    assert torch.allclose(hadamard.hadamard_transform(hadamard.hadamard_transform(x)) / length, x, atol=1e-9)
    k = 12345 % length
    basis = torch.zeros(length, dtype=torch.float64)
    basis[k] = 1.0
    column = hadamard.hadamard_transform(basis)
    indices = torch.arange(length)
    assert torch.equal(column, (1 - 2 * _popcount_parity(indices & k)).double())  # H[i, k] = (-1)^popcount(i & k)


def _popcount_parity(values: torch.Tensor) -> torch.Tensor:
    parity = torch.zeros_like(values)
    while bool(values.any()):
        parity ^= values & 1
        values = values >> 1
    return parity


def test_float32_agrees_with_float64(implementation):
    x = torch.randn(4, 2**14, dtype=torch.float64)
    result = hadamard.hadamard_transform(x.float()).double()
    assert torch.allclose(result, hadamard.hadamard_transform(x), atol=1e-3 * math.sqrt(2**14))


def test_gradcheck(implementation):
    x = torch.randn(2, 64, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(hadamard.hadamard_transform, (x,))


def test_gradient_is_not_rescaled(implementation):
    """d/dx sum(g * Hx) = H g exactly: a backward normalized differently from the forward would fail this."""
    length = 2**16
    x = torch.randn(length, requires_grad=True)
    g = torch.randn(length)
    (hadamard.hadamard_transform(x) * g).sum().backward()
    assert torch.allclose(x.grad, hadamard.hadamard_transform(g), rtol=1e-5, atol=1e-3)
    assert x.grad.norm() / g.norm() == pytest.approx(math.sqrt(length), rel=1e-4)


def test_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power-of-two"):
        hadamard.hadamard_transform(torch.zeros(12))


def test_the_out_of_place_transform_leaves_its_input_alone(implementation):
    x = torch.randn(3, 2**17)
    before = x.clone()
    assert torch.allclose(kernels.hadamard(x), torch_ops.hadamard_matmul(before), rtol=1e-4, atol=1e-3)
    assert torch.equal(x, before)


REPEATED_TRANSFORM = """
import resource, sys, torch
from intrinsic_dim import hadamard_transform
from intrinsic_dim.memory import reuse_freed_memory
assert reuse_freed_memory()
x, g = torch.randn(2**24, requires_grad=True), torch.randn(2**24)
def step():
    hadamard_transform(x).backward(g)
    x.grad = None
for _ in range(2):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3)
"""


def test_a_repeated_large_transform_does_not_fault_in_fresh_small_pages():
    """Each step makes and frees two 64 MiB tensors: fresh from mmap in 4 KiB pages, 32,768 page faults a step.

    Measured here: 0-550 with the freed memory reused (the count varies with the heap's layout), 1,088 with
    2 MiB pages alone. Either keeps a step far below one fault per 4 KiB page.
    """
    faults = subprocess.run([sys.executable, "-c", REPEATED_TRANSFORM], capture_output=True, text=True, check=True)
    assert float(faults.stdout.split()[-1]) < 32_768 / 16
