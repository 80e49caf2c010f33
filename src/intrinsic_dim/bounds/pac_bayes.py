"""Generalization bounds for a model that a prefix-free code, fixed before training, describes in `bits` bits.

A prefix-free code is a prior P(h) = 2^-bits(h) over every model it can describe (Kraft's inequality), so the
point mass on the trained, compressed model has KL(Q || P) = bits * ln 2 nats. Both bounds hold for the 0-1 error
with probability at least 1 - delta over the draw of the m training examples, simultaneously for every model
the code can describe: the training data may choose the model, but never the code.
"""

from __future__ import annotations

import math

import numpy as np

# Catoni's free parameter C, fixed before seeing data; the union bound over it costs ln(len) / m
CATONI_GRID = tuple(np.geomspace(1e-3, 1e2, 101).tolist())


def complexity(bits: float, m: int, delta: float) -> float:
    """(KL + ln 1/delta) / m in nats per example, the term every bound here adds to the training error."""
    if not 0 < delta < 1 or m < 1 or bits < 0:
        raise ValueError(f"need 0 < delta < 1, m >= 1 and bits >= 0, got delta={delta}, m={m}, bits={bits}")
    return (bits * math.log(2) + math.log(1 / delta)) / m


def occam_bound(train_error: float, bits: float, m: int, delta: float = 0.05) -> float:
    """err <= train_error + sqrt((bits ln 2 + ln 1/delta) / 2m): Hoeffding and a union bound weighted by 2^-bits.

    The form of Aghajanyan et al.'s Theorem 1 (after Arora et al. 2018) with its constants: the gap grows as
    sqrt(d/m) when the code spends a fixed number of bits per coordinate of theta_d.
    """
    return min(1.0, train_error + math.sqrt(complexity(bits, m, delta) / 2))


def catoni_bound(train_error: float, bits: float, m: int, delta: float = 0.05, grid=CATONI_GRID) -> float:
    """Catoni's PAC-Bayes bound (2007, Thm 1.2.6) for a point mass, at its best C of a grid fixed in advance:

    err <= min over C of (1 - exp(-C train_error - (bits ln 2 + ln(len(grid) / delta)) / m)) / (1 - exp(-C)).

    Lotfi et al. 2022 evaluate this bound; each C of the grid gets delta / len(grid) (a union bound).
    """
    penalty = complexity(bits, m, delta / len(grid))
    candidates = (-math.expm1(-c * train_error - penalty) / -math.expm1(-c) for c in grid)
    return min(1.0, min(candidates))
