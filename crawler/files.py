"""File-system facts the outputs and the WARC archive both rely on: whether the process that
named a temporary file still runs, and making a rename durable."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["fsync_dir", "pid_alive"]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one we may not signal runs too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(directory: Path) -> None:
    """Make the renames in ``directory`` durable; best effort (some filesystems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # a filesystem that cannot sync a directory has nothing to sync
            os.fsync(fd)
    finally:
        os.close(fd)
