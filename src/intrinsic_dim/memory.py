"""Keep memory that tensors free inside the process, for the next tensors of the same size (glibc malloc).

By default glibc hands every allocation above 32 MiB straight to mmap and unmaps it when freed, so a tensor
of 2^24 floats made and freed at every training step (a Fastfood or Hadamard output) arrives as fresh pages:
one page fault (and the kernel zeroing the page) per 4 KiB on first touch, which at that size cost more
than the transform itself. Served from the heap and never trimmed, the same memory is reused step after
step. The price: the process keeps its peak heap until it exits, which a training run does anyway.
"""

from __future__ import annotations

import ctypes
import functools

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_MAX = -4


@functools.cache
def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse; False where the C library is not glibc (the call is skipped)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # musl, macOS: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
