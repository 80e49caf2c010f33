"""Training in random subspaces to measure the intrinsic dimension of objective landscapes."""

from intrinsic_dim.hadamard import hadamard_transform
from intrinsic_dim.projections import PROJECTIONS, make_projection
from intrinsic_dim.subspace import SubspaceModel

__all__ = ["PROJECTIONS", "SubspaceModel", "hadamard_transform", "make_projection"]
