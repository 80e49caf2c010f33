"""Code lengths and coders: prefix-free codes for integers and choices, and a range coder for quantized symbols.

Every part of a model's description gets a prefix-free code, so the concatenation is one prefix-free code
(the prior of the bounds in `pac_bayes`). The symbols go through `constriction`'s range coder under their
empirical distribution, whose counts are themselves part of the message.
"""

from __future__ import annotations

import math

import constriction
import numpy as np


def elias_delta_bits(n: int) -> int:
    """Length of the Elias delta code of a positive integer: ~log2 n + 2 log2 log2 n bits, no bound on n needed."""
    if n < 1:
        raise ValueError(f"Elias delta codes positive integers, got {n}")
    length = n.bit_length()
    return length - 1 + 2 * (length.bit_length() - 1) + 1


def choice_bits(options: int) -> float:
    """A uniform code over a finite set of options declared before training: log2(options) bits."""
    if options < 1:
        raise ValueError(f"a choice needs at least one option, got {options}")
    return math.log2(options)


def counts_bits(levels: int, symbols: int) -> int:
    """The histogram the decoder needs: levels - 1 counts of 0..symbols each (the last one follows)."""
    return (levels - 1) * math.ceil(math.log2(symbols + 1))


def _model(counts: np.ndarray):
    return constriction.stream.model.Categorical(counts.astype(np.float64), perfect=False)


def encode(symbols: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """(compressed words, counts): the range code of `symbols` (0..levels-1) under their own histogram."""
    counts = np.bincount(symbols, minlength=levels)
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(symbols.astype(np.int32), _model(counts))
    return encoder.get_compressed(), counts


def decode(words: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The symbols back from `encode`'s words and counts."""
    return constriction.stream.queue.RangeDecoder(words).decode(_model(counts), int(counts.sum()))


def entropy_bits(counts: np.ndarray) -> float:
    """The ideal code length of a sequence with these symbol counts under its own histogram."""
    probabilities = counts[counts > 0] / counts.sum()
    return float(-(counts[counts > 0] * np.log2(probabilities)).sum())
