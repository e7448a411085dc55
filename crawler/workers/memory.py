"""glibc malloc tuning for a long crawl.

glibc raises its mmap threshold after big blocks are freed, so later page-sized
buffers (responses, lxml trees, pickled bodies) come from the heap, which seldom
shrinks: RSS creeps up by tens of megabytes. A fixed threshold keeps large
blocks in their own mappings, returned to the system as soon as they are freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_malloc"]

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
_done = False


def tune_malloc() -> bool:
    """Fix the mmap threshold (glibc only; elsewhere a no-op). Returns whether it applied."""
    global _done
    if _done:
        return True
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
    return _done
