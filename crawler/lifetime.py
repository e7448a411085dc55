"""A child process that must not outlive the process that started it.

A crawl killed with -9 (cron's timeout, the OOM killer) cannot stop its helpers; a helper left
running keeps downloading for no one and holds the crawl's output pipes open, and cron waits
for those. Linux stops it for us when asked (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL this process when its parent dies; at once if ``parent`` (its pid when it was
    started) is gone already. Elsewhere than on Linux, nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
