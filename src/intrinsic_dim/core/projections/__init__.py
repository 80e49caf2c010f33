"""Random projections theta_d -> theta_D, built by kind from (sizes, d, seed)."""

from __future__ import annotations

from collections.abc import Sequence

from intrinsic_dim.core.projections.base import Projection
from intrinsic_dim.core.projections.dense import DenseProjection
from intrinsic_dim.core.projections.fastfood import FastfoodMaps, FastfoodProjection
from intrinsic_dim.core.projections.said import SAIDProjection
from intrinsic_dim.core.projections.sparse import SparseProjection
from intrinsic_dim.errors import BadInput

PROJECTIONS: dict[str, type[Projection]] = {
    cls.kind: cls for cls in (DenseProjection, SparseProjection, FastfoodProjection, SAIDProjection)
}


def make_projection(kind: str, sizes: Sequence[int], d: int, seed: int, device=None) -> Projection:
    """The `kind` projection of (sizes, d, seed), drawn on `device` (default: the CPU)."""
    if kind not in PROJECTIONS:
        raise BadInput(f"unknown subspace kind {kind!r}; choose one of {', '.join(PROJECTIONS)}")
    return PROJECTIONS[kind](sizes, d, seed, device)


__all__ = ["PROJECTIONS", "FastfoodMaps", "Projection", "make_projection"]
