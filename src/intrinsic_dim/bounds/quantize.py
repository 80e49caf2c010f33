"""Quantization of theta_d to a few levels: uniform between its extremes, or 1-D k-means."""

from __future__ import annotations

import numpy as np
from scipy.cluster.vq import kmeans2


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
