"""One fake clock for a crawl and the loopback site it reads: libfaketime, driven by a file.

Schedules that span hours or days (revisit intervals, retry pauses, backfill windows) are
tested for real: the simulation runs in a process started under libfaketime (Debian's
``faketime`` package), whose clock is whatever the clock file says; the timeline writes its
own ``now`` there before each crawl, so the crawler and the site agree on the time. The
product has no clock hook: it calls ``time.time()`` as always.

``FAKETIME_DONT_FAKE_MONOTONIC=1`` keeps timeouts and the event loop on real time. With it,
libfaketime 0.9.10 (Debian 12) breaks Python 3.11's ``time.sleep`` (EINVAL, libfaketime issue
#426); test code under the fake clock waits with ``threading.Event().wait`` instead.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

__all__ = [
    "FAKETIME_MISSING",
    "faketime_env",
    "fixed_clock_env",
    "libfaketime",
    "require_libfaketime",
    "set_clock",
    "wait",
]

FAKETIME_MISSING = "libfaketime is not installed (Debian package faketime; .ci/run installs it)"


def libfaketime() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None


def require_libfaketime() -> str:
    """The library's path; the test is skipped without it, and fails under CI=true."""
    library = libfaketime()
    if library is None:
        if os.environ.get("CI") == "true":
            pytest.fail(FAKETIME_MISSING)
        pytest.skip(FAKETIME_MISSING)
    return library


def faketime_env(clock: Path, library: str) -> dict[str, str]:
    """The environment of a process whose wall clock is read from ``clock``.

    The file is read again at most once a second: libfaketime intercepts every clock call,
    monotonic ones included, and reading the file on each (FAKETIME_NO_CACHE) cost the
    simulation a second of CPU per crawl. ``set_clock(..., wait=True)`` waits for the change."""
    return {
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_CACHE_DURATION": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def fixed_clock_env(moment: datetime, library: str) -> dict[str, str]:
    """The environment of one process whose clock starts at ``moment`` (and runs on from it)."""
    return {
        "LD_PRELOAD": library,
        "FAKETIME": moment.astimezone(UTC).strftime("@%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def set_clock(clock: Path, moment: datetime, wait: bool = False) -> None:
    """From now on the processes reading ``clock`` see ``moment`` (and time runs on from it).
    ``wait``: in a process reading it, return once this process's clock shows it."""
    stamp = moment.astimezone(UTC).strftime("@%Y-%m-%d %H:%M:%S")
    temporary = clock.with_name(clock.name + ".tmp")
    temporary.write_text(stamp + "\n", encoding="ascii")
    temporary.replace(clock)
    deadline = time.monotonic() + 10
    while wait and abs(time.time() - moment.timestamp()) > 5 and time.monotonic() < deadline:
        threading.Event().wait(0.05)


def wait(seconds: float) -> None:
    """``time.sleep`` that works under libfaketime with real monotonic time."""
    threading.Event().wait(seconds)
