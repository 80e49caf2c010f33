import pytest
import torch

from intrinsic_dim import kernels


def reference_fastfood_forward(short_rows, index, gains):
    rows = torch.arange(index.shape[0]).unsqueeze(1)
    return kernels.hadamard_matmul(short_rows[rows, index.long()] * gains)


def reference_fastfood_backward(grad, out_sizes, index, gains, width):
    long_rows = torch.zeros(gains.shape, dtype=grad.dtype)
    for row, piece in zip(long_rows, grad.split(out_sizes), strict=True):
        row[: piece.numel()] = piece
    rows = torch.arange(index.shape[0]).unsqueeze(1).expand_as(index)
    transformed = kernels.hadamard_matmul(long_rows) * gains
    folded = torch.zeros(index.shape[0], width, dtype=grad.dtype)
    return folded.index_put_((rows, index.long()), transformed, accumulate=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("out_sizes", "length", "width"),
    [([8], 8, 2), ([64, 40, 1], 64, 16), ([2**15, 30_000], 2**15, 1024), ([200_000], 2**18, 16384)],
)
def test_fused_fastfood_halves_match_references(implementation, dtype, out_sizes, length, width):
    """Lengths above 2^16 exercise the kernel's column-strip phase, where the fold is fused in."""
    rows = len(out_sizes)
    generator = torch.Generator().manual_seed(length)
    index = torch.randint(0, width, (rows, length), generator=generator, dtype=torch.int32)
    gains = torch.randn(rows, length, generator=generator, dtype=dtype)
    short_rows = torch.randn(rows, width, generator=generator, dtype=dtype)
    grad = torch.randn(sum(out_sizes), generator=generator, dtype=dtype)
    rtol = 1e-4 if dtype == torch.float32 else 1e-10
    atol = rtol * length**0.5  # entries are sums of L terms
    forward = kernels.fastfood_forward(short_rows, index, gains)
    assert torch.allclose(forward, reference_fastfood_forward(short_rows, index, gains), rtol=rtol, atol=atol)
    backward = kernels.fastfood_backward(grad, out_sizes, index, gains, width)
    assert torch.allclose(
        backward, reference_fastfood_backward(grad, out_sizes, index, gains, width), rtol=rtol, atol=atol
    )


@pytest.mark.parametrize("col_dtype", [torch.int16, torch.int32])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_products_match_dense(implementation, dtype, col_dtype):
    generator = torch.Generator().manual_seed(0)
    rows, cols = 5000, 300
    mask = torch.rand(rows, cols, generator=generator) < 0.02
    mask[17] = False  # an empty row
    signs = torch.randint(0, 2, (rows, cols), generator=generator) * 2 - 1
    scales = torch.rand(cols, generator=generator, dtype=dtype) + 0.5
    dense = mask * signs * scales
    row_starts = torch.cat([torch.zeros(1, dtype=torch.int64), mask.sum(1).cumsum(0)]).int()
    row_index, col_index = mask.nonzero(as_tuple=True)  # row-major order
    signed_cols = (signs[row_index, col_index] * (col_index + 1)).to(col_dtype)
    x, g = torch.randn(cols, dtype=dtype), torch.randn(rows, dtype=dtype)
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    product = kernels.sparse_matvec(row_starts, signed_cols, scales, x)
    assert torch.allclose(product, dense @ x, rtol=tolerance, atol=tolerance)
    transposed = kernels.sparse_matvec_transposed(row_starts, signed_cols, scales, g)
    assert torch.allclose(transposed, dense.t() @ g, rtol=tolerance, atol=tolerance)
