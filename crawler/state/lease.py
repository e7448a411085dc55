"""One run at a time when state lives in PostgreSQL: the run lease and its heartbeat.

A flock only works on one machine. Under STATE_URL a run holds the lease row instead and
keeps its heartbeat fresh from a thread; a run whose heartbeat is older than
RUN_LEASE_SECONDS is dead (killed, its machine gone), and the next run takes over. A
shard of a distributed run does not take the lease: it joins its run's, and holds a
session advisory lock of its own so that two attempts of one shard never run at once
(the server drops it with the connection, however the holder ends).
"""

from __future__ import annotations

import logging
import os
import time

from crawler.state.lock import RunLockedError
from crawler.state.postgres_store import PostgresStore, SessionLock, server_name
from crawler.state.run_lease import Heartbeat, describe_lease

__all__ = ["CRAWL_SESSION_LOCK", "LeaseLock", "ShardLock", "crawl_session"]

# Held by a single-process crawl for as long as it runs: a lease left by one whose
# connection is gone (kill -9) is free at once, as the flock is on one machine.
CRAWL_SESSION_LOCK = "sources-crawler crawl"

logger = logging.getLogger(__name__)


class LeaseLock:
    """A whole run on this machine (``scrapy crawl sources`` under STATE_URL) holds the lease."""

    def __init__(self, url: str, stale_after: float, heartbeat: float):
        self.url, self.stale_after, self.interval = url, stale_after, heartbeat
        self.where = f"the run lease in {server_name(url)}"
        self.run_id = f"crawl-{os.uname().nodename}-{os.getpid()}-{int(time.time())}"
        self._store: PostgresStore | None = None
        self._session: SessionLock | None = None
        self._heartbeat: Heartbeat | None = None

    def acquire(self) -> None:
        # Two connections: the heartbeat thread's, and the one that holds the session lock.
        store = PostgresStore(self.url, max_connections=2)
        session = None
        try:
            session = crawl_session(store)
            if session is None or store.take_lease(self.run_id, self.stale_after, {"kind": "crawl"}, True) is None:
                raise RunLockedError(f"another run holds {self.where} ({describe_lease(store.lease())}); not crawling")
        except BaseException:
            # Locked out or the server gone mid-way: nothing of ours stays held.
            _close(store, session)
            raise
        self._store, self._session = store, session
        self._heartbeat = Heartbeat(store, self.run_id, self.interval).start()

    def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._store is not None:
            try:
                self._store.end_lease(self.run_id)
            finally:
                _close(self._store, self._session)  # closing the connection drops the session lock
            self._store = self._session = None


class ShardLock:
    """One shard of a distributed run: its run must still hold the lease, and no other
    attempt of the same shard may be crawling."""

    def __init__(self, url: str, run_id: str, shard: int, stale_after: float):
        self.url, self.run_id, self.shard, self.stale_after = url, run_id, shard, stale_after
        self.where = f"shard {shard} of run {run_id} in {server_name(url)}"
        self._store: PostgresStore | None = None
        self._session: SessionLock | None = None

    def acquire(self) -> None:
        store = PostgresStore(self.url, max_connections=1)
        try:
            lease = store.lease()
            if lease is None or lease.run_id != self.run_id or lease.finished is not None:
                held = describe_lease(lease)
                raise RunLockedError(f"run {self.run_id} no longer holds the run lease ({held}); not crawling")
            self._session = self._wait_for_earlier_attempt(store)
        except BaseException:
            store.close()
            raise
        self._store = store

    def _wait_for_earlier_attempt(self, store: PostgresStore) -> SessionLock:
        # An earlier attempt of this shard, orphaned by a killed worker, stops within a heartbeat.
        key = f"shard {self.run_id} {self.shard}"
        deadline = time.monotonic() + min(self.stale_after, 120)
        while (session := store.try_session_lock(key)) is None:
            if time.monotonic() > deadline:
                raise RunLockedError(f"another attempt is still crawling {self.where}; not crawling")
            time.sleep(0.5)
        return session

    def release(self) -> None:
        if self._store is not None:
            _close(self._store, self._session)
            self._store = self._session = None


def _close(store: PostgresStore, session: SessionLock | None) -> None:
    try:
        if session is not None:
            session.release()
    finally:
        store.close()


def crawl_session(store: PostgresStore) -> SessionLock | None:
    """The session lock of single-process crawls, held until released (enqueue takes it for a
    moment); None while a crawl holds it."""
    return store.try_session_lock(CRAWL_SESSION_LOCK)
