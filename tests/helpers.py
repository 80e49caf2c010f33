"""Explicit dense references for the implicit projections."""

import numpy as np
import scipy.linalg
import torch

from intrinsic_dim.projections import FastfoodBank, Projection


def materialize(projection: Projection) -> torch.Tensor:
    """P as a D x trainable_size matrix, one forward pass per basis vector."""
    dtype = torch.float64
    eye = torch.eye(projection.trainable_size, dtype=dtype)
    with torch.no_grad():
        return torch.stack([projection.to(dtype)(column) for column in eye], dim=1)


def explicit_fastfood(bank: FastfoodBank, row: int) -> np.ndarray:
    """S H G Pi H B of one bank row, built from dense matrices (scipy's Hadamard, a permutation matrix)."""
    length, in_size, out_size = bank.length, bank.in_size, bank.out_sizes[row]
    hadamard = scipy.linalg.hadamard(length).astype(np.float64)
    permutation = bank.permutation.view(-1, length)[row].long().numpy() - row * length
    permutation_matrix = np.zeros((length, length))
    permutation_matrix[np.arange(length), permutation] = 1.0
    signs = np.zeros((length, in_size))
    signs[np.arange(in_size), np.arange(in_size)] = bank.signs[row].double().numpy()
    gains = np.diag(bank.gains[row].double().numpy())
    return (hadamard @ gains @ permutation_matrix @ hadamard @ signs)[:out_size]
