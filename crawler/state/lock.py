"""One run per state database: an exclusive ``flock`` on ``STATE_DB + ".lock"``.

The kernel drops the lock when the process ends, however it ends, so a run
killed with -9 never blocks the next one; the file's content (pid, start time)
only makes the refusal message useful.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

__all__ = ["RunLock", "RunLockedError"]


class RunLockedError(Exception):
    """Another run holds the lock; the message names it."""


class RunLock:
    def __init__(self, state_db: str | Path):
        self.path = Path(f"{state_db}.lock")
        self.where = str(self.path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(f"another run holds {self.path} ({holder}); not crawling") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
