"""Random numbers as a function of (seed, stream, position): the same values on every device.

torch's generators differ by device (a CPU draws with MT19937, a GPU with Philox), so a projection drawn on
the GPU it lives on would not be the one drawn on a CPU. Here every number is SplitMix64 of a counter: 64-bit
integer arithmetic, which wraps identically everywhere, so P is drawn where it will live, in parallel, and
any part of a stream can be drawn alone (`offset`), e.g. in chunks that bound the memory of the draw.
"""

from __future__ import annotations

import math

import torch

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's counter increment
_MULTIPLIERS = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _as_int64(value: int) -> int:
    """The int64 with the same 64 bits as the unsigned `value`."""
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def _shifted_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 values (torch's `>>` keeps the sign)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(z: torch.Tensor) -> torch.Tensor:
    z = (z ^ _shifted_right(z, 30)) * _as_int64(_MULTIPLIERS[0])
    z = (z ^ _shifted_right(z, 27)) * _as_int64(_MULTIPLIERS[1])
    return z ^ _shifted_right(z, 31)


def mix_int(value: int) -> int:
    """SplitMix64's finalizer on a Python integer (unsigned 64 bits): the reference of `_mix`."""
    z = value & _MASK
    z = ((z ^ (z >> 30)) * _MULTIPLIERS[0]) & _MASK
    z = ((z ^ (z >> 27)) * _MULTIPLIERS[1]) & _MASK
    return z ^ (z >> 31)


def stream_key(seed: int, stream: int) -> int:
    """The starting state of stream `stream` of `seed`: streams of one seed, and seeds, do not overlap."""
    return mix_int(mix_int(seed * _GOLDEN) + stream * _GOLDEN + 1)


def random_bits(seed: int, stream: int, count: int, device=None, offset: int = 0) -> torch.Tensor:
    """Positions offset .. offset + count - 1 of the stream, 64 random bits each, as int64."""
    positions = torch.arange(offset + 1, offset + count + 1, dtype=torch.int64, device=device)
    return _mix(positions.mul_(_as_int64(_GOLDEN)).add_(_as_int64(stream_key(seed, stream))))


def uniform(seed: int, stream: int, count: int, device=None, offset: int = 0) -> torch.Tensor:
    """Uniform on [0, 1) in float64, from the top 53 bits."""
    return _shifted_right(random_bits(seed, stream, count, device, offset), 11).double().mul_(2.0**-53)


def normal(seed: int, stream: int, count: int, device=None, offset: int = 0) -> torch.Tensor:
    """Standard normal float32 by Box-Muller in float64, from positions 2i and 2i + 1 of the stream."""
    pairs = uniform(seed, stream, 2 * count, device, 2 * offset).view(count, 2)
    radius = pairs[:, 0].neg_().log1p_().mul_(-2.0).sqrt_()  # 1 - u lies in (0, 1]: no log of zero
    return pairs[:, 1].mul_(2 * math.pi).cos_().mul_(radius).float()


def signs(seed: int, stream: int, count: int, device=None) -> torch.Tensor:
    """+-1 in float32, from each position's top bit."""
    return torch.where(random_bits(seed, stream, count, device) < 0, -1.0, 1.0)


def permutation(length: int, seed: int, stream: int, device=None) -> torch.Tensor:
    """A uniformly random permutation of 0 .. length - 1 (int64): the order of random 64-bit keys, ties by
    position. The sort holds three int64 arrays of `length` for a moment: 12 GiB at 2^29."""
    return torch.sort(random_bits(seed, stream, length, device), stable=True).indices
