import pytest
import torch

from intrinsic_dim.core import kernels, torch_ops
from intrinsic_dim.core.kernels import Segments, SparseLayout


def reference_long_rows(short_rows, index, gains):
    rows = torch.arange(index.shape[0]).unsqueeze(1)
    return torch_ops.hadamard_matmul(short_rows[rows, index.long()] * gains)


def reference_fold(long_rows, index, gains, width):
    rows = torch.arange(index.shape[0]).unsqueeze(1).expand_as(index)
    transformed = torch_ops.hadamard_matmul(long_rows) * gains
    folded = torch.zeros(index.shape[0], width, dtype=long_rows.dtype)
    return folded.index_put_((rows, index.long()), transformed, accumulate=True)


def scattered_segments(rows: int, length: int, generator: torch.Generator) -> Segments:
    """A few segments per row at random places, written to a flat vector out of row order."""
    segments = Segments([], [], [], [])
    for row in range(rows):
        cuts = sorted(torch.randperm(length, generator=generator)[:4].tolist())
        for start, stop in ((cuts[0], cuts[1]), (cuts[2], cuts[3])):
            for field, value in zip(segments, (row, start, stop - start, 0), strict=True):
                field.append(value)
    order = torch.randperm(len(segments.rows), generator=generator).tolist()
    offset = 0
    for k in order:  # flat offsets in a shuffled order, so no segment lands where its row position is
        segments.offsets[k] = offset
        offset += segments.sizes[k]
    return segments


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("rows", "length", "width"), [(1, 8, 2), (3, 64, 16), (2, 2**15, 1024), (1, 2**18, 16384)])
def test_fused_fastfood_halves_match_references(implementation, dtype, rows, length, width):
    """Lengths above 2^16 exercise the kernel's column-strip phase, where the writes and the fold are fused."""
    generator = torch.Generator().manual_seed(length)
    index = torch.randint(0, width, (rows, length), generator=generator, dtype=torch.int32)
    gains = torch.randn(rows, length, generator=generator, dtype=dtype)
    short_rows = torch.randn(rows, width, generator=generator, dtype=dtype)
    scales = torch.rand(rows, generator=generator, dtype=dtype) + 0.5
    segments = scattered_segments(rows, length, generator)
    total = sum(segments.sizes)
    base = torch.randn(total, generator=generator, dtype=dtype)
    rtol = 1e-4 if dtype == torch.float32 else 1e-10
    atol = rtol * length**0.5  # entries are sums of L terms

    long_rows = reference_long_rows(short_rows, index, gains) * scales.unsqueeze(1)
    expected = torch.empty(total, dtype=dtype)
    for row, start, size, offset in zip(*segments, strict=True):
        expected[offset : offset + size] = base[offset : offset + size] + long_rows[row, start : start + size]
    out = torch.full((total,), float("nan"), dtype=dtype)
    kernels.fastfood_forward(out, base, short_rows, index, gains, scales, segments)
    assert torch.allclose(out, expected, rtol=rtol, atol=atol)

    grads = [torch.randn(size, generator=generator, dtype=dtype) for size in segments.sizes]
    grads[0] = None  # a tensor that the loss does not use
    padded = torch.zeros(rows, length, dtype=dtype)
    for grad, row, start, size in zip(grads, *segments[:3], strict=True):
        if grad is not None:
            padded[row, start : start + size] = grad
    backward = kernels.fastfood_backward(grads, segments, index, gains, width)
    assert torch.allclose(backward, reference_fold(padded, index, gains, width), rtol=rtol, atol=atol)


def random_sparse(rows: int, cols: int, density: float, dtype, generator):
    mask = torch.rand(rows, cols, generator=generator) < density
    mask[17] = False  # an empty row
    mask[:, 3] = False  # an empty column
    signs = torch.randint(0, 2, (rows, cols), generator=generator) * 2 - 1
    scales = torch.rand(cols, generator=generator, dtype=dtype) + 0.5
    col_index, row_index = mask.t().nonzero(as_tuple=True)  # by column, then row
    layout = SparseLayout.build(row_index, col_index, signs[row_index, col_index], (rows, cols), block_rows=4096)
    return layout, scales, mask * signs * scales


@pytest.mark.parametrize("cols", [300, 40_000])  # int16 and int32 signed columns
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_products_match_dense(implementation, dtype, cols):
    generator = torch.Generator().manual_seed(0)
    rows = 20_000 if cols < 1000 else 300  # > one sort window and column block; not a multiple of 8
    layout, scales, dense = random_sparse(rows + 3, cols, 6 / cols, dtype, generator)
    assert layout.entries.dtype == (torch.int16 if cols < 2**15 else torch.int32)
    x, g, base = torch.randn(cols, dtype=dtype), torch.randn(rows + 3, dtype=dtype), torch.randn(rows + 3, dtype=dtype)
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(kernels.sparse_matvec(layout, scales, x), dense @ x, rtol=tolerance, atol=tolerance)
    shifted = kernels.sparse_matvec(layout, scales, x, base)
    assert torch.allclose(shifted, base + dense @ x, rtol=tolerance, atol=tolerance)
    transposed = kernels.sparse_matvec_transposed(layout, scales, g)  # sums of ~400 terms, in another order
    assert torch.allclose(transposed, dense.t() @ g, rtol=tolerance, atol=20 * tolerance)


def test_row_chunks_hold_every_entry_once_and_pad_rarely():
    generator = torch.Generator().manual_seed(1)
    layout, _, dense = random_sparse(20_003, 300, 0.03, torch.float32, generator)
    nnz = int((dense != 0).sum())
    assert (layout.entries != 0).sum() == nnz == layout.signed_rows.numel()
    assert layout.entries.numel() < 1.05 * nnz  # rows sorted by length before chunking
    assert sorted(layout.row_order[layout.row_order >= 0].tolist()) == list(range(20_003))


def test_every_checkout_of_the_same_source_shares_one_build(tmp_path, monkeypatch):
    from torch.utils import cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "builds"))
    name, built_from = kernels._source_in_build_folder(cpp_extension)
    assert built_from.read_bytes() == kernels._SOURCE.read_bytes() and built_from.parent.name == name
    first_written = built_from.stat().st_mtime_ns

    elsewhere = tmp_path / "another_checkout" / "kernels.cpp"  # a worktree, a `dvc exp run --temp` copy
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(kernels._SOURCE.read_bytes())
    monkeypatch.setattr(kernels, "_SOURCE", elsewhere)
    assert kernels._source_in_build_folder(cpp_extension) == (name, built_from)
    assert built_from.stat().st_mtime_ns == first_written  # untouched: ninja sees nothing to rebuild

    elsewhere.write_bytes(elsewhere.read_bytes() + b"// changed\n")
    changed_name, changed_copy = kernels._source_in_build_folder(cpp_extension)
    assert changed_name != name and changed_copy.read_bytes().endswith(b"// changed\n")
