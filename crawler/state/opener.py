"""Opening the state store and the run lock: the one module that imports the backends.

``STATE_URL=postgresql://…`` selects the PostgreSQL store (shared between machines, with
the run lease as its lock); otherwise the SQLite file at ``STATE_DB`` and the flock
beside it. Backends are imported where chosen, so a SQLite run never loads psycopg."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from crawler import settings as defaults
from crawler.state.lock import RunLock
from crawler.state.store import AnalystReads, HeldLock, Lock, SharedStore, StateError, StateStore

if TYPE_CHECKING:
    from crawler.state.postgres_store import PostgresStore

__all__ = [
    "crawl_session",
    "last_run_summary",
    "lease_seconds",
    "open_reader",
    "open_shared_store",
    "open_store",
    "open_stores",
    "preflight",
    "run_lock",
    "state_url",
    "stored_history",
]


def state_url(settings: Any) -> str | None:
    """STATE_URL, when state is shared in PostgreSQL; None for the SQLite file at STATE_DB."""
    url = str(settings.get("STATE_URL") or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise StateError(f"STATE_URL must be a postgresql://… URL (or unset for SQLite at STATE_DB), not {url[:40]!r}")
    return url


def open_store(settings: Any) -> StateStore:
    return open_stores(settings)[0]


def open_stores(settings: Any) -> tuple[StateStore, SharedStore | None]:
    """The store, and the same store as a ``SharedStore`` when it is one (under STATE_URL)."""
    if url := state_url(settings):
        from crawler.state.postgres_store import PostgresStore

        store = PostgresStore(url)
        return store, store
    from crawler.state.sqlite_store import StateDB

    return StateDB(settings.get("STATE_DB")), None


def open_shared_store(url: str, max_connections: int) -> SharedStore:
    """The store under STATE_URL, for the distributed runner (a few connections are enough)."""
    from crawler.state.postgres_store import PostgresStore

    return PostgresStore(url, max_connections=max_connections)


def crawl_session(store: SharedStore) -> HeldLock | None:
    """The session lock single-process crawls hold, taken for a moment; None while a crawl
    holds it (crawler/state/lease.py)."""
    from crawler.state.lease import crawl_session as take

    return take(cast("PostgresStore", store))


def run_lock(settings: Any, run_id: str | None = None, shard: int | None = None) -> Lock:
    """The lock a crawl holds: the flock beside STATE_DB, or under STATE_URL the run lease
    (a shard of a distributed run joins its run's lease instead of taking one)."""
    if url := state_url(settings):
        from crawler.state.lease import LeaseLock, ShardLock

        if shard is not None and run_id:
            return ShardLock(url, run_id, shard, lease_seconds(settings))
        return LeaseLock(
            url, lease_seconds(settings), settings.getfloat("RUN_HEARTBEAT_SECONDS", defaults.RUN_HEARTBEAT_SECONDS)
        )
    return RunLock(settings.get("STATE_DB"))


def lease_seconds(settings: Any) -> float:
    """How long a run's heartbeat may be silent before the run is taken as dead."""
    return max(
        settings.getfloat("RUN_LEASE_SECONDS", defaults.RUN_LEASE_SECONDS),
        3 * settings.getfloat("RUN_HEARTBEAT_SECONDS", defaults.RUN_HEARTBEAT_SECONDS),
    )


def preflight(settings: Any) -> None:
    """Raise StateError, before anything is crawled, when the store cannot be used."""
    if url := state_url(settings):
        from crawler.state.postgres_store import PostgresStore

        PostgresStore.check(url)  # connects, and brings the schema up to date
        return
    from crawler.state.sqlite_store import check_state_file

    check_state_file(settings.get("STATE_DB"))


def last_run_summary(settings: Any) -> dict[str, Any] | None:
    """The last run's summary, read without changing anything; None if it cannot be read."""
    if url := _readable_url(settings):
        from crawler.state.postgres_store import read_only

        return read_only(url, lambda store: store.last_summary(), None)
    from crawler.state.sqlite_store import read_last_summary

    return read_last_summary(Path(settings.get("STATE_DB")))


def stored_history(settings: Any, since: float) -> list[tuple[float, dict[str, Any]]]:
    """(finished, summary) of the runs since ``since``, oldest first, read without changing anything."""
    if url := _readable_url(settings):
        from crawler.state.postgres_store import read_only

        return read_only(url, lambda store: store.run_history(since), [])
    from crawler.state.sqlite_store import read_history

    return read_history(Path(settings.get("STATE_DB")), since)


def _readable_url(settings: Any) -> str | None:
    try:
        return state_url(settings)
    except StateError:
        return None


def open_reader(settings: Any) -> AnalystReads:
    """The state for the analyst's commands: PostgreSQL under STATE_URL, else the SQLite file
    opened read-only (a crawl may be writing it). Raises StateError when it cannot be read."""
    if url := state_url(settings):
        from crawler.state.postgres_store import PostgresStore

        return PostgresStore(url, max_connections=1)
    from crawler.state.sqlite_store import SqliteReader

    return SqliteReader(Path(settings.get("STATE_DB")))
