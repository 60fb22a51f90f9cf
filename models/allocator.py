"""Keep freed memory in the process, so each encoder batch reuses pages instead of faulting in new ones.

PyTorch's CPU tensors come from malloc. glibc serves a block above its mmap threshold (128 KiB, rising
with use to at most 32 MiB) with a fresh `mmap`, and hands the top of its heap back to the OS once more
than twice that threshold is free: an encoder batch's activations (tens of MiB, a new set every layer)
are then zero-filled page by page on every pass. On two cores that took a quarter of int8 inference
time (docs/BENCHMARKS.md). PyTorch's CPU tuning guide swaps in jemalloc or tcmalloc (`LD_PRELOAD`) for
this; setting glibc's own two thresholds does the same in-process, with nothing to install.

The process then keeps up to `TRIM_THRESHOLD` of freed heap for reuse. A user's own `MALLOC_*_`
environment settings are left alone, as are allocators other than glibc's.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# glibc's mallopt(3) parameter numbers (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value: blocks up to 32 MiB come from the heap
TRIM_THRESHOLD = 512 << 20  # freed heap kept for reuse before any is returned to the OS

_ENV_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's heap thresholds once per process; True when they are in effect (False: not glibc
    Linux, or the user chose their own `MALLOC_*_` settings)."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in _ENV_SETTINGS):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    # the trim threshold first: once the mmap threshold is fixed, freed blocks land on the heap
    trim = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return bool(trim and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
