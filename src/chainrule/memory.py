"""Memory that is reused, not returned: the allocator setting behind steady training steps.

A training step allocates the same large arrays every time (activations, gradients, im2col
columns) and frees them at the end of the step. glibc's malloc serves blocks above a threshold
(128 KiB at first) with fresh ``mmap`` calls and gives them back to the operating system when
they are freed, and it returns the free top of its heap above a trim threshold too; so every
step page-faults its buffers in again, zero-filled by the kernel, which costs more than the
arithmetic in a small network. Raising both thresholds keeps those blocks in the process's heap,
where the next step finds them: the memory held is bounded by the peak of one step (below the
thresholds), and results do not change.

chainrule applies this once, when it is imported, on Linux with glibc. Set the environment
variable ``CHAINRULE_MALLOC_TUNING=0`` to leave the allocator as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 64 * 1024 * 1024   # blocks up to 64 MiB come from the reusable heap
TRIM_THRESHOLD = 256 * 1024 * 1024  # keep up to 256 MiB of free heap for the next step

_applied = False


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD,
                      trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Make glibc keep freed blocks for reuse instead of returning them to the system.

    Args:
        mmap_threshold: allocations up to this many bytes come from the heap.
        trim_threshold: free memory at the top of the heap kept up to this many bytes.

    Returns:
        True when the setting was applied (Linux with glibc), False elsewhere.
    """
    global _applied
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok
    _applied = ok
    return ok


def is_applied() -> bool:
    """Whether :func:`keep_freed_memory` is in effect in this process."""
    return _applied


def apply_default() -> None:
    """Apply :func:`keep_freed_memory` unless ``CHAINRULE_MALLOC_TUNING=0`` says not to."""
    if os.environ.get("CHAINRULE_MALLOC_TUNING", "1") != "0":
        keep_freed_memory()
