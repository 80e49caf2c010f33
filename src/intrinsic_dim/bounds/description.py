"""The coded description of a quantized subspace model, and its length in bits.

Given the task (its architecture, and theta_0's pretrained weights if any), all fixed before any data is seen,
a subspace model is decoded from: which of the declared options it used (projection kind, codebook size,
quantizer: a uniform code over them, i.e. a union bound), the run's seed (theta_0's init) and the projection's,
d, the codebook (its size and float32 levels), the histogram of the symbols, the range-coded symbols (one per
coordinate of theta_d), and for SAID the per-tensor scales in float32. Each part has a prefix-free code, so the
whole message is one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intrinsic_dim.bounds.codes import choice_bits, counts_bits, decode, elias_delta_bits, encode

FLOAT_BITS = 32


@dataclass(frozen=True)
class Message:
    """A quantized theta_d as the decoder receives it: its codebook, its histogram and its range code."""

    levels: np.ndarray  # float32, ascending
    counts: np.ndarray  # how often each level is used
    words: np.ndarray  # the range coder's 32-bit words

    @classmethod
    def of(cls, symbols: np.ndarray, levels: np.ndarray) -> Message:
        words, counts = encode(symbols, len(levels))
        return cls(levels=levels.astype(np.float32), counts=counts, words=words)

    def symbols(self) -> np.ndarray:
        return decode(self.words, self.counts)

    def values(self) -> np.ndarray:
        """theta_d as the decoder rebuilds it."""
        return self.levels[self.symbols()]


def description_bits(message: Message, seeds: tuple[int, ...], scales: int, options: int) -> dict[str, float]:
    """The length of each part of the model's description, and their total ("bits").

    `seeds`: the run's seed (theta_0's init, e.g. a new classifier head) and the projection's seed.
    """
    d = int(message.counts.sum())
    parts = {
        "choices": choice_bits(options),
        "seeds": sum(elias_delta_bits(seed + 1) for seed in seeds),
        "d": elias_delta_bits(d),
        "codebook": elias_delta_bits(len(message.levels)) + FLOAT_BITS * len(message.levels),
        "histogram": counts_bits(len(message.levels), d),
        "symbols": FLOAT_BITS * len(message.words),
        "scales": FLOAT_BITS * scales,
    }
    return {**parts, "bits": float(sum(parts.values()))}
