import hashlib
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.func import functional_call

from helpers import explicit_fastfood, materialize
from intrinsic_dim.core.projections import PROJECTIONS, make_projection

SIZES = [1500, 1000, 500, 37, 63]  # D = 3100: not a power of two, so Fastfood truncates L = 4096 to D
KINDS = sorted(PROJECTIONS)


def column_blocks(projection, matrix):
    """Row blocks on which columns are normalized: the whole matrix, or one block per tensor for SAID."""
    if projection.kind != "said":
        return [matrix]
    return list(matrix.split(projection.sizes, dim=0))


@pytest.mark.parametrize("kind", KINDS)
def test_columns_have_unit_norm_on_average(kind):
    projection = make_projection(kind, SIZES, d=200, seed=0)
    matrix = materialize(projection)
    assert matrix.shape == (sum(SIZES), projection.trainable_size)
    for block in column_blocks(projection, matrix):
        squared_norms = block.square().sum(0)
        if kind in ("dense", "sparse"):  # normalized exactly, column by column
            assert torch.allclose(squared_norms, torch.ones_like(squared_norms), atol=1e-5)
        else:  # Fastfood: unit norm in expectation; a short tensor's columns scatter more
            tolerance = 0.05 if block.shape[0] < 100 else 0.02
            assert squared_norms.mean().item() == pytest.approx(1.0, abs=tolerance)


@pytest.mark.parametrize("kind", ["fastfood", "said"])
def test_fastfood_equals_textbook_matrix(kind, implementation):
    """The one-long-transform evaluation equals S H G Pi H B built densely from the same seed's draws."""
    projection = make_projection(kind, SIZES, d=150, seed=3)
    matrix = materialize(projection).numpy()
    expected = explicit_fastfood(projection.maps, seed=3)
    np.testing.assert_allclose(matrix, expected, rtol=1e-6, atol=1e-7)


def test_sparse_structure():
    D, d = 40_000, 100
    projection = make_projection("sparse", [D], d=d, seed=0)
    dense = materialize(projection).float()
    per_column = (dense != 0).sum(0)
    assert per_column.min() >= 1
    assert projection.nnz == per_column.sum().item()
    assert projection.nnz / (D * d) == pytest.approx(1 / math.sqrt(D), rel=0.05)
    # every non-zero of column j is +-1/sqrt(nnz_j): unit norm exactly, balanced signs
    assert torch.allclose(dense.abs().sum(0), per_column.float().sqrt(), rtol=1e-5)
    assert torch.allclose(dense.square().sum(0), torch.ones(d), rtol=1e-5)
    assert abs((dense > 0).sum().item() - (dense < 0).sum().item()) < 4 * math.sqrt(projection.nnz)
    layout = projection.layout  # both layouts hold every non-zero once; row chunks pad rarely
    assert layout.entries.dtype == torch.int16 and (layout.entries != 0).sum().item() == projection.nnz
    assert layout.entries.numel() < 1.05 * projection.nnz and layout.signed_rows.numel() == projection.nnz


@pytest.mark.parametrize("kind", KINDS)
def test_backward_is_the_transpose(kind, implementation):
    projection = make_projection(kind, SIZES, d=64, seed=1).double()
    matrix = materialize(projection)
    theta = torch.randn(projection.trainable_size, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(sum(SIZES), dtype=torch.float64)
    (projection(theta) @ upstream).backward()
    assert torch.allclose(theta.grad, matrix.t() @ upstream, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_pieces_are_the_shifted_vector_split_with_the_same_gradients(kind, implementation):
    """theta_0 + P theta, whole or per tensor, with a tensor the loss does not use (its gradient is zero)."""
    projection = make_projection(kind, SIZES, d=64, seed=1).double()
    trainable = list(projection.parameters())  # SAID's scales
    theta = torch.randn(projection.trainable_size, dtype=torch.float64, requires_grad=True)
    theta_0 = torch.randn(sum(SIZES), dtype=torch.float64)
    upstream = list(torch.randn(sum(SIZES), dtype=torch.float64).split(SIZES))
    upstream[1] = torch.zeros(SIZES[1], dtype=torch.float64)
    flat = projection.shifted(theta_0, theta)
    assert torch.allclose(flat, theta_0 + projection(theta), rtol=1e-12, atol=1e-12)
    expected = torch.autograd.grad(flat @ torch.cat(upstream), [theta, *trainable])
    pieces = projection.pieces(theta_0, theta)
    assert [piece.numel() for piece in pieces] == SIZES
    assert torch.allclose(torch.cat(pieces), flat, rtol=1e-12, atol=1e-12)
    loss = sum(piece @ grad for i, (piece, grad) in enumerate(zip(pieces, upstream, strict=True)) if i != 1)
    for got, want in zip(torch.autograd.grad(loss, [theta, *trainable]), expected, strict=True):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(kind, implementation):
    projection = make_projection(kind, [40, 24, 7], d=20, seed=2).double()
    theta = torch.randn(projection.trainable_size, dtype=torch.float64, requires_grad=True)
    if kind == "said":
        scales = torch.rand(3, dtype=torch.float64, requires_grad=True) + 0.5
        assert torch.autograd.gradcheck(lambda t, s: functional_call(projection, {"scales": s}, (t,)), (theta, scales))
    else:
        assert torch.autograd.gradcheck(projection, (theta,))


def _digest(kind, seed):
    matrix = materialize(make_projection(kind, SIZES, d=32, seed=seed))
    return hashlib.sha256(matrix.numpy().tobytes()).hexdigest()


def test_seed_determines_projection_across_processes():
    code = ("import sys; sys.path.insert(0, 'tests'); from test_projections import _digest; "
            f"print(*(_digest(kind, 7) for kind in {KINDS!r}))")  # fmt: skip
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other_process.stdout.split() == [_digest(kind, 7) for kind in KINDS]  # one process for every kind
    assert all(_digest(kind, 7) != _digest(kind, 8) for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_zero_maps_to_zero(kind):
    projection = make_projection(kind, SIZES, d=50, seed=0)
    assert torch.equal(projection(torch.zeros(projection.trainable_size)), torch.zeros(sum(SIZES)))


def test_said_budget_includes_scales():
    projection = make_projection("said", SIZES, d=100, seed=0)
    assert projection.trainable_size + projection.scales.numel() == 100
    assert torch.equal(projection.scales.detach(), torch.ones(len(SIZES)))
    # 1500, 1000 pad to different lengths than 500/37/63 (512, 128, 128); each group is one batched bank
    assert sorted(map(sorted, projection.maps.groups)) == [[0], [1], [2], [3, 4]]


@pytest.mark.parametrize(
    ("kind", "d", "message"),
    [
        ("fastfood", 0, "d must be positive"),
        ("dense", -3, "d must be positive"),
        ("sparse", 3101, "exceeds the number of trainable parameters D=3100"),
        ("fastfood", 5000, "choose d <= D"),
        ("said", 5, "needs d > 5"),
        ("gaussian", 10, "unknown subspace kind 'gaussian'; choose one of"),
    ],
)
def test_bad_input_is_rejected_with_the_fix(kind, d, message):
    with pytest.raises(ValueError, match=message):
        make_projection(kind, SIZES, d=d, seed=0)


def test_dense_that_cannot_fit_names_the_alternatives(monkeypatch):
    class TinyMemory:
        available = 1000

    monkeypatch.setattr("intrinsic_dim.core.projections.dense.psutil.virtual_memory", lambda: TinyMemory)
    with pytest.raises(MemoryError, match="use subspace kind 'fastfood' or 'sparse'"):
        make_projection("dense", SIZES, d=10, seed=0)
