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
from typing import Any

from crawler.state.lock import RunLockedError
from crawler.state.postgres_store import PostgresStore, server_name
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
        self._conn: Any = None
        self._heartbeat: Heartbeat | None = None

    def acquire(self) -> None:
        # Two connections: the heartbeat thread's, and the one that holds the session lock.
        store = PostgresStore(self.url, max_connections=2)
        conn = crawl_session(store)
        if conn is None:
            holder = store.lease()
            store.close()
            raise RunLockedError(f"another run holds {self.where} ({describe_lease(holder)}); not crawling")
        if store.take_lease(self.run_id, self.stale_after, {"kind": "crawl"}, crawl_gone=True) is None:
            holder = store.lease()
            store.pool.putconn(conn)
            store.close()
            raise RunLockedError(f"another run holds {self.where} ({describe_lease(holder)}); not crawling")
        self._store, self._conn = store, conn
        self._heartbeat = Heartbeat(store, self.run_id, self.interval).start()

    def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._store is not None:
            try:
                self._store.end_lease(self.run_id)
            finally:
                self._store.pool.putconn(self._conn)
                self._store.close()  # closing the connection drops the session lock
            self._store = self._conn = None


class ShardLock:
    """One shard of a distributed run: its run must still hold the lease, and no other
    attempt of the same shard may be crawling."""

    def __init__(self, url: str, run_id: str, shard: int, stale_after: float):
        self.url, self.run_id, self.shard, self.stale_after = url, run_id, shard, stale_after
        self.where = f"shard {shard} of run {run_id} in {server_name(url)}"
        self._store: PostgresStore | None = None
        self._conn: Any = None

    def acquire(self) -> None:
        store = PostgresStore(self.url, max_connections=1)
        lease = store.lease()
        if lease is None or lease.run_id != self.run_id or lease.finished is not None:
            store.close()
            held = describe_lease(lease)
            raise RunLockedError(f"run {self.run_id} no longer holds the run lease ({held}); not crawling")
        # An earlier attempt of this shard, orphaned by a killed worker, stops within a heartbeat.
        conn = store.pool.getconn()
        key = f"shard {self.run_id} {self.shard}"
        deadline = time.monotonic() + min(self.stale_after, 120)
        while not _try_lock(conn, key):
            if time.monotonic() > deadline:
                store.pool.putconn(conn)
                store.close()
                raise RunLockedError(f"another attempt is still crawling {self.where}; not crawling")
            time.sleep(0.5)
        self._store, self._conn = store, conn

    def release(self) -> None:
        if self._store is not None and self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock_all()")
            finally:
                self._store.pool.putconn(self._conn)
                self._store.close()
            self._store = self._conn = None


def _try_lock(conn: Any, name: str) -> bool:
    """A session advisory lock on ``name``, if free; the server drops it with the connection."""
    return bool(conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0])


def crawl_session(store: PostgresStore) -> Any:
    """The session lock of single-process crawls, taken for a moment (by enqueue); None if a
    crawl holds it. Give the connection back with ``store.pool.putconn``."""
    conn = store.pool.getconn()
    if _try_lock(conn, CRAWL_SESSION_LOCK):
        return conn
    store.pool.putconn(conn)
    return None
