"""Training in random subspaces to measure the intrinsic dimension of objective landscapes."""

from intrinsic_dim.core.hadamard import hadamard_transform
from intrinsic_dim.core.projections import PROJECTIONS, make_projection
from intrinsic_dim.core.subspace import SubspaceModel

__all__ = ["PROJECTIONS", "SubspaceModel", "hadamard_transform", "make_projection"]
