"""Real filesystem faults for tests: a small tmpfs that fills up or turns read-only."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["fill", "tmpfs"]


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real, small filesystem: a tmpfs mount (root only; outside CI the test skips without it)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, leave: int = 0) -> None:
    """Fill a filesystem until at most ``leave`` bytes are free."""
    with (directory / "filler").open("wb") as filler, contextlib.suppress(OSError):
        while True:
            free = shutil.disk_usage(directory).free - leave
            if free <= 0:
                break
            filler.write(b"\0" * min(free, 1 << 20))
            filler.flush()
