import pytest
import torch

from intrinsic_dim import kernels


def reference_expand(short_rows, index, gains):
    rows = torch.arange(index.shape[0]).unsqueeze(1)
    return short_rows[rows, index.long()] * gains


def reference_fold(x, index, gains, width):
    rows = torch.arange(index.shape[0]).unsqueeze(1).expand_as(index)
    return torch.zeros(x.shape[0], width, dtype=x.dtype).index_put_((rows, index.long()), x * gains, accumulate=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("rows", "length", "width"), [(1, 8, 2), (3, 64, 16), (2, 2**15, 1024), (1, 2**18, 16384)])
def test_expand_and_fold_match_indexing(implementation, dtype, rows, length, width):
    generator = torch.Generator().manual_seed(length)
    index = torch.randint(0, width, (rows, length), generator=generator, dtype=torch.int32)
    gains = torch.randn(rows, length, generator=generator, dtype=dtype)
    short_rows = torch.randn(rows, width, generator=generator, dtype=dtype)
    x = torch.randn(rows, length, generator=generator, dtype=dtype)
    assert torch.equal(kernels.expand(short_rows, index, gains), reference_expand(short_rows, index, gains))
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    expected = reference_fold(x, index, gains, width)
    assert torch.allclose(kernels.fold(x, index, gains, width), expected, rtol=tolerance, atol=tolerance)


def test_compiled_kernels_reject_bad_arguments():
    assert kernels.compiled_kernels_available()
    with pytest.raises(RuntimeError, match="int32"):
        torch.ops.intrinsic_dim.fastfood_expand(torch.zeros(2, 4), torch.zeros(2, 8, dtype=torch.int64), torch.zeros(2, 8))
    with pytest.raises(RuntimeError, match="power of two"):
        torch.ops.intrinsic_dim.hadamard_(torch.zeros(12))


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
    assert torch.allclose(kernels.sparse_matvec(row_starts, signed_cols, scales, x), dense @ x, rtol=tolerance, atol=tolerance)
    transposed = kernels.sparse_matvec_transposed(row_starts, signed_cols, scales, g)
    assert torch.allclose(transposed, dense.t() @ g, rtol=tolerance, atol=tolerance)
