"""Memory and CPU of a process tree from /proc (Linux), for tests and benchmarks.

PSS (proportional set size) counts pages shared between processes once in
total, so the sum over a crawler and its workers is an honest figure.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["PeakMemory", "cpu_seconds", "descendants", "pss_kib"]


def descendants(pid: int) -> list[int]:
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            tasks = list(Path(f"/proc/{current}/task").glob("*"))
        except OSError:
            continue  # the process ended while the tree was walked
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(child) for child in children if int(child) not in found)
    return found


def pss_kib(pid: int, named: str | None = None) -> int:
    """PSS of ``pid`` and all its descendants, in KiB (0 when it is gone); with ``named``, only
    of the processes whose name starts so ("chrom": the browser's)."""
    total = 0
    for member in descendants(pid):
        try:
            if named is not None and not Path(f"/proc/{member}/comm").read_text().startswith(named):
                continue
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in descendants(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17 of stat; 12-15 after the name)
        total += sum(int(value) for value in fields[11:15]) / ticks
    return total


class PeakMemory:
    """Samples a process tree's PSS in a thread: ``with PeakMemory(pid) as peak: ...; peak.kib``."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid = pid
        self.interval = interval
        self.kib = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.kib = max(self.kib, pss_kib(self.pid))
            self.cpu = max(self.cpu, cpu_seconds(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
