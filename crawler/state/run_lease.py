"""The run lease of a shared store, apart from how a backend keeps it.

A shared store (``SharedStore``) lets one run at a time hold its lease and keep it with a
heartbeat; a run whose heartbeat goes silent for RUN_LEASE_SECONDS is dead. The record,
the heartbeat thread and the words for refusals are the same whatever the backend, and
the distributed runner uses them without importing one (crawler/state/opener.py opens it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Heartbeat", "Lease", "LeaseHolder", "describe_lease"]

logger = logging.getLogger(__name__)


class LeaseHolder(Protocol):
    """What the heartbeat needs of a shared store (crawler/state/store.py's SharedStore)."""

    def heartbeat(self, run_id: str) -> bool: ...


@dataclass(frozen=True)
class Lease:
    """The run lease as stored: who holds the database and since when."""

    run_id: str
    started: float
    heartbeat: float
    finished: float | None
    plan: dict[str, Any] | None
    status: int | None = None

    def active(self, stale_after: float, now: float | None = None) -> bool:
        """Unfinished, and its heartbeat younger than ``stale_after`` seconds."""
        return self.finished is None and self.heartbeat > (now or time.time()) - stale_after


class Heartbeat:
    """A daemon thread that keeps a run's lease fresh every ``interval`` seconds."""

    def __init__(self, store: LeaseHolder, run_id: str, interval: float, on_lost: Callable[[], None] | None = None):
        self.store, self.run_id, self.interval = store, run_id, max(interval, 0.2)
        # Called once the run no longer holds the lease (another run took it over).
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.store.heartbeat(self.run_id):
                    logger.warning("Run %s no longer holds the run lease", self.run_id)
                    if self.on_lost is not None:
                        self.on_lost()
                        return
            except Exception as exc:  # a server blip: the next beat tries again
                logger.warning("Run heartbeat failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)


def describe_lease(lease: Lease | None) -> str:
    """Who holds the lease, for refusal messages."""
    if lease is None:
        return "no run"
    state = "finished" if lease.finished is not None else "unfinished"
    return f"run {lease.run_id}, {state}, heartbeat {time.time() - lease.heartbeat:.0f} s ago"
