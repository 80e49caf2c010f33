"""Quantization of theta_d to a few levels (uniform between its extremes, or 1-D k-means), and their fine-tune."""

from __future__ import annotations

import numpy as np
import torch
from scipy.cluster.vq import kmeans2
from torch import nn


def uniform_levels(values: np.ndarray, count: int) -> np.ndarray:
    return np.linspace(values.min(), values.max(), count, dtype=np.float32)


def kmeans_levels(values: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` k-means centres of the values (k-means++ start), sorted; empty clusters dropped."""
    centres, labels = kmeans2(values.astype(np.float64)[:, None], count, minit="++", seed=seed)
    return np.sort(centres[np.unique(labels), 0]).astype(np.float32)


def quantize(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The index of the nearest level for each value (levels sorted ascending)."""
    midpoints = (levels[1:] + levels[:-1]) / 2
    return np.searchsorted(midpoints, values).astype(np.int64)


def dequantize(symbols: np.ndarray, levels: np.ndarray) -> np.ndarray:
    return levels[symbols]


class NearestLevel(nn.Module):
    """A parametrization (torch.nn.utils.parametrize) that replaces a vector by its nearest levels.

    The forward pass sees only the quantized values; the gradient passes straight through to the continuous
    vector (the straight-through estimator) and, through the gather, to the levels: a short fine-tune of both
    recovers the accuracy that rounding lost (Lotfi et al. 2022, quantization-aware training).
    """

    def __init__(self, levels: np.ndarray) -> None:
        super().__init__()
        self.levels = nn.Parameter(torch.as_tensor(levels, dtype=torch.float32).clone())

    def symbols(self, values: torch.Tensor) -> torch.Tensor:
        return (values.detach()[:, None] - self.levels.detach()[None, :]).abs().argmin(dim=1)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return values - values.detach() + self.levels[self.symbols(values)]
