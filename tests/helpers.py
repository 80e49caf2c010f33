"""Explicit dense references for the implicit projections."""

import numpy as np
import scipy.linalg
import torch

from intrinsic_dim.projections import Projection
from intrinsic_dim.projections.fastfood import FastfoodBank, draw_fastfood_row


def materialize(projection: Projection) -> torch.Tensor:
    """P as a D x trainable_size matrix, one forward pass per basis vector."""
    dtype = torch.float64
    eye = torch.eye(projection.trainable_size, dtype=dtype)
    with torch.no_grad():
        return torch.stack([projection.to(dtype)(column) for column in eye], dim=1)


def explicit_fastfood(bank: FastfoodBank, generator: torch.Generator) -> np.ndarray:
    """The textbook S H G Pi H B of every row of a bank, from dense matrices and the same random draws."""
    length, in_size = bank.length, bank.in_size
    hadamard = scipy.linalg.hadamard(length).astype(np.float64)
    blocks = []
    for out_size in bank.out_sizes:
        signs, permutation, gains = (t.double().numpy() for t in draw_fastfood_row(in_size, length, generator))
        permutation_matrix = np.zeros((length, length))
        permutation_matrix[np.arange(length), permutation.astype(int)] = 1.0
        padded_signs = np.zeros((length, in_size))
        padded_signs[np.arange(in_size), np.arange(in_size)] = signs
        scale = 1.0 / np.sqrt(out_size * np.square(gains).sum())
        full = scale * hadamard @ np.diag(gains) @ permutation_matrix @ hadamard @ padded_signs
        blocks.append(full[:out_size])
    return np.concatenate(blocks)
