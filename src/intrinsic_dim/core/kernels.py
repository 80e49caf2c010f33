"""Low-level ops of the projections, each with a compiled CPU kernel and a torch-ops version.

The CPU kernels (csrc/kernels.cpp) are compiled once per machine on first use, for this CPU's instruction
set. The build is named after the CPU type and the source's content and compiles a copy of the source kept
in the build folder: a home directory shared by different nodes keeps one build per CPU type, and every
checkout of the same code (worktrees, `dvc exp run --temp` copies, a CI clone) reuses one build instead of
recompiling whenever another checkout ran last. On other devices, or where no compiler is available, the
torch-ops versions (`torch_ops`) run instead.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from intrinsic_dim.core import torch_ops
from intrinsic_dim.errors import BadInput

log = logging.getLogger(__name__)

_SOURCE = Path(__file__).parent / "csrc" / "kernels.cpp"


def _build_name(source: bytes) -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = "unknown"
    return f"intrinsic_dim_kernels_{hashlib.sha256(flags.encode() + source).hexdigest()[:10]}"


def _source_in_build_folder(cpp_extension) -> tuple[str, Path]:
    """The build's name and its copy of the source: the build then does not depend on where this checkout is."""
    source = _SOURCE.read_bytes()
    name = _build_name(source)
    copy = Path(cpp_extension._get_build_directory(name, verbose=False)) / _SOURCE.name
    if not copy.is_file() or copy.read_bytes() != source:
        staged = copy.with_suffix(f".{os.getpid()}.tmp")  # processes starting together each write their own
        staged.write_bytes(source)
        staged.replace(copy)
    return name, copy


@functools.cache
def compiled_kernels_available() -> bool:
    """Build (or load from the torch extensions cache) the CPU kernels; False if this machine cannot."""
    try:
        # Importing cpp_extension warns that CUDA is missing, which is irrelevant for a CPU-only build.
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        from torch.utils import cpp_extension

        name, source = _source_in_build_folder(cpp_extension)
        cpp_extension.load(
            name=name,
            sources=[str(source)],
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


def hadamard_(x: torch.Tensor) -> torch.Tensor:
    """In-place unnormalized transform of a contiguous tensor along its last dimension (no autograd)."""
    check_power_of_two(x.shape[-1])
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.hadamard_(x)
    return x.copy_(torch_ops.hadamard_matmul(x))


def hadamard(x: torch.Tensor) -> torch.Tensor:
    """Out-of-place unnormalized transform of a contiguous tensor along its last dimension (no autograd)."""
    check_power_of_two(x.shape[-1])
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.hadamard(x)
    return torch_ops.hadamard_matmul(x)


class Segments(NamedTuple):
    """Parts of a bank's long rows: segment k is elements [starts[k], starts[k] + sizes[k]) of row rows[k],
    which the forward writes to a flat vector at offsets[k] and the backward reads from the k-th grad."""

    rows: list[int]
    starts: list[int]
    sizes: list[int]
    offsets: list[int]


def fastfood_forward(
    out: torch.Tensor,
    base: torch.Tensor | None,
    short_rows: torch.Tensor,
    index: torch.Tensor,
    gains: torch.Tensor,
    scales: torch.Tensor | None,
    segments: Segments,
) -> None:
    """out[segment] = base[segment] + scales[r] * (row r of H_L (short_rows[r, index[r, i]] * gains[r, i])_i)."""
    if _use_compiled(gains):
        torch.ops.intrinsic_dim.fastfood_forward(out, base, short_rows, index, gains, scales, *segments)
    else:
        torch_ops.fastfood_forward(out, base, short_rows, index, gains, scales, segments)


def fastfood_backward(
    grads: Sequence[torch.Tensor | None], segments: Segments, index: torch.Tensor, gains: torch.Tensor, width: int
) -> torch.Tensor:
    """Transpose of fastfood_forward without its scales, fed grads[k] at segment k (None: zeros): (rows, b)."""
    if _use_compiled(gains):
        return torch.ops.intrinsic_dim.fastfood_backward(list(grads), *segments[:3], index, gains, width)
    return torch_ops.fastfood_backward(grads, segments, index, gains, width)


_CHUNK_ROWS = 8  # rows that advance together in the row-chunk layout (the kernel's lanes)
_SORT_WINDOW = 8192  # rows are sorted by length within windows this long: writes stay local, padding rare
_COLUMN_BLOCK_ROWS = 2**16  # rows per block of the compressed columns: 256 KiB of float32 gradient, in L2


class SparseLayout(NamedTuple):
    """A sparse P (rows x columns) whose entries are sign * scales[column], in the two layouts its products read.

    Row chunks, for P x: rows sorted by length within windows and taken 8 at a time; row_order[8c + l] is the
    row in lane l of chunk c (-1: none), and entry k of that lane is entries[chunk_starts[c] + 8k + l], a
    signed column sign * (column + 1), lanes zero-padded to the chunk's longest row. Compressed columns by
    blocks of rows, for P^T g: the entries of column j in row block b are signed_rows[col_starts[b * columns +
    j]:col_starts[b * columns + j + 1]], sign * (row + 1).
    Signed columns are int16 when columns < 2^15: two bytes per non-zero, as these memory-bound products
    need.
    """

    rows: int
    columns: int
    chunk_starts: torch.Tensor
    entries: torch.Tensor
    row_order: torch.Tensor
    col_starts: torch.Tensor
    signed_rows: torch.Tensor

    @classmethod
    def build(
        cls,
        rows: torch.Tensor,
        cols: torch.Tensor,
        signs: torch.Tensor,
        shape: tuple[int, int],
        block_rows: int = _COLUMN_BLOCK_ROWS,
    ):
        """From the non-zeros' rows, columns and signs (+-1), sorted by column and, within a column, by row.

        Built with narrow integers and few temporaries at a time: at d = 10^4 a 1M-parameter net has 10M
        non-zeros, and each int64 copy of them is 80 MB.
        """
        n_rows, n_cols = shape
        col_dtype = torch.int16 if n_cols < 2**15 else torch.int32
        signed_rows = (rows + 1).to(torch.int32).mul_(signs.to(torch.int32))
        signed_cols = (cols + 1).to(col_dtype).mul_(signs.to(col_dtype))
        col_starts, signed_rows = _compressed_columns(rows, cols, signed_rows, n_rows, n_cols, block_rows)
        chunk_starts, entries, row_order = _row_chunks(rows, signed_cols, n_rows)
        return cls(n_rows, n_cols, chunk_starts, entries, row_order, col_starts, signed_rows)

    def coordinates(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Row, column and sign of every non-zero."""
        segments = torch.arange(self.col_starts.numel() - 1, device=self.col_starts.device)
        cols = torch.repeat_interleave(segments % self.columns, self.col_starts.diff())
        return self.signed_rows.abs().long() - 1, cols, self.signed_rows.sign()


def _narrowest_offsets(offsets: torch.Tensor) -> torch.Tensor:
    return offsets.to(torch.int32) if offsets[-1] < 2**31 else offsets


def _compressed_columns(rows, cols, signed_rows, n_rows: int, n_cols: int, block_rows: int):
    """Offsets of every (row block, column) segment, and the signed rows in that order."""
    blocks = -(-n_rows // block_rows)
    block = rows // block_rows
    if blocks > 1:  # by row block, then (as given) by column and row
        by_block = torch.sort(block, stable=True).indices
        signed_rows, segment = signed_rows[by_block], (block * n_cols).add_(cols)[by_block]
        del by_block
    else:
        segment = cols
    col_starts = torch.zeros(blocks * n_cols + 1, dtype=torch.int64)
    col_starts[1:] = torch.bincount(segment, minlength=blocks * n_cols).cumsum(0)
    return _narrowest_offsets(col_starts), signed_rows


def _row_chunks(rows, signed_cols, n_rows: int):
    """Chunk offsets, lane-interleaved signed columns and the row of every lane (see SparseLayout)."""
    by_row = torch.sort(rows, stable=True).indices  # row-major; within a row, by column as given
    sorted_rows, signed_cols = rows[by_row], signed_cols[by_row]
    del by_row
    lengths = torch.bincount(sorted_rows, minlength=n_rows)
    window = torch.arange(n_rows) // _SORT_WINDOW
    order = torch.argsort(window * (int(lengths.max()) + 1) + lengths.max() - lengths, stable=True)
    row_order = torch.full((-(-n_rows // _CHUNK_ROWS) * _CHUNK_ROWS,), -1, dtype=torch.int64)
    row_order[:n_rows] = order
    widths = torch.where(row_order >= 0, lengths[row_order.clamp(min=0)], 0).view(-1, _CHUNK_ROWS).amax(1)
    chunk_starts = torch.zeros(widths.numel() + 1, dtype=torch.int64)
    chunk_starts[1:] = (widths * _CHUNK_ROWS).cumsum(0)
    slot_of_row = torch.empty(n_rows, dtype=torch.int64)
    slot_of_row[order] = torch.arange(n_rows)
    row_begins = torch.zeros(n_rows + 1, dtype=torch.int64)
    row_begins[1:] = lengths.cumsum(0)
    # entry k of row r goes to lane slot % 8 of chunk slot // 8, at step k
    position = torch.arange(sorted_rows.numel()).sub_(row_begins[sorted_rows]).mul_(_CHUNK_ROWS)
    slot = slot_of_row[sorted_rows]
    del sorted_rows
    position += chunk_starts[slot // _CHUNK_ROWS]
    position += slot % _CHUNK_ROWS
    del slot
    entries = torch.zeros(int(chunk_starts[-1]), dtype=signed_cols.dtype)
    entries[position] = signed_cols
    return _narrowest_offsets(chunk_starts), entries, row_order.to(torch.int32)


def sparse_matvec(
    layout: SparseLayout, scales: torch.Tensor, x: torch.Tensor, base: torch.Tensor | None = None
) -> torch.Tensor:
    """base + P x, for P (rows x columns) given by its two layouts (see SparseLayout)."""
    if _use_compiled(x):
        return torch.ops.intrinsic_dim.sparse_matvec(
            layout.chunk_starts, layout.entries, layout.row_order, scales, x, base, layout.rows
        )
    return torch_ops.sparse_matvec(layout, scales, x, base)


def sparse_matvec_transposed(layout: SparseLayout, scales: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """P^T g for the same P."""
    if _use_compiled(g):
        return torch.ops.intrinsic_dim.sparse_matvec_transposed(layout.col_starts, layout.signed_rows, scales, g)
    return torch_ops.sparse_matvec_transposed(layout, scales, g)
