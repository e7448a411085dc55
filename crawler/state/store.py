"""The state store interface: everything a run reads from and writes to earlier runs' memory.

Components depend on ``StateStore`` and get one from ``open_store``; the SQLite file at
``STATE_DB`` is the first implementation. A second backend (state shared between machines)
implements this protocol and is chosen here, without touching the spider, the pipelines or
the exporters: ``STATE_URL=postgresql://…`` selects the PostgreSQL store, which is also a
``SharedStore`` (the lease, claims and shard results of a run spread over machines)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from crawler.frontier.book import FrontierEntry
from crawler.frontier.revisit import DocumentRecord
from crawler.state.lock import RunLock
from crawler.state.sql import DOCUMENT_COLUMNS

__all__ = [
    "ARTICLE_FIELDS",
    "Lock",
    "SharedStore",
    "StateError",
    "StateStore",
    "cache_key",
    "decode_print",
    "document_record",
    "document_rows",
    "encode_print",
    "last_run_summary",
    "lease_seconds",
    "open_store",
    "preflight",
    "run_lock",
    "state_url",
    "stored_history",
    "story_ref",
]


class StateError(Exception):
    """The state store cannot be used; the message says why (it names the file or server)."""


class StateStore(Protocol):
    """What runs remember. Every method raises ``StateError`` when the store fails."""

    # translation cache
    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]: ...
    def cache_translations(self, entries: Iterable[tuple[bytes, str]]) -> None: ...

    # discovery documents (crawler/frontier/revisit.py) and the retry frontier (crawler/frontier/book.py)
    def documents(self, urls: list[str]) -> dict[str, DocumentRecord]: ...
    def frontier(self, sources: list[str]) -> list[FrontierEntry]: ...
    def add_to_frontier(self, entries: list[FrontierEntry]) -> None: ...

    # URL knowledge, articles and revisions
    def known_url(self, key: str) -> tuple[str, dict[str, str], int] | None: ...
    def article(self, article_id: str) -> dict[str, Any] | None: ...
    def article_with_text(self, source: str, content_hash: str) -> str | None: ...
    def retry_records(self, source: str, limit: int) -> list[tuple[str, list[str]]]: ...
    def untranslated(self) -> dict[str, int]: ...
    def site_rules(self) -> dict[str, list[list[Any]]]: ...
    def apply(self, batch: dict[str, Any]) -> None: ...

    # stories (crawler/stories/assign.py's StoryLookup)
    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def linked_stories(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def story_candidates(self, keys: list[int], limit: int) -> list[tuple[str, str, bytes, bytes]]: ...

    # two-phase deliveries
    def write_delivery(self, run_id: str, payload: str, files: list[dict[str, Any]], complete: bool) -> None: ...
    def deliveries(self) -> list[tuple[str, str, list[dict[str, Any]], bool]]: ...
    def drop_delivery(self, run_id: str) -> None: ...
    def legacy_pending(self) -> list[tuple[str, str, str | None, str]]: ...
    def drop_legacy_pending(self, run_id: str, path: str) -> None: ...

    # runs and housekeeping
    def start_run(self, run_id: str, started: int) -> None: ...
    def finish_run(self, run_id: str, finished: int, summary: str) -> None: ...
    def last_summary(self) -> dict[str, Any] | None: ...
    def run_history(self, since: float) -> list[tuple[float, dict[str, Any]]]: ...
    def prune(self, older_than: int) -> dict[str, int]: ...
    def close(self) -> None: ...


class SharedStore(StateStore, Protocol):
    """A store several processes use at once (STATE_URL): one run's shards, on any machine."""

    def take_lease(self, run_id: str, stale_after: float, plan: dict[str, Any] | None = None) -> Any: ...
    def lease(self) -> Any: ...
    def heartbeat(self, run_id: str) -> bool: ...
    def end_lease(self, run_id: str) -> None: ...
    def claim(self, run_id: str, name: str, shard: int) -> bool: ...
    def record_shard(
        self, run_id: str, shard: int, *, status: int | None = None, summary: dict[str, Any] | None = None,
        files: list[str] | None = None,
    ) -> None: ...  # fmt: skip
    def shard_results(self, run_id: str) -> dict[int, Any]: ...


class Lock(Protocol):
    """One run at a time per store; ``acquire`` raises RunLockedError when another holds it."""

    where: str

    def acquire(self) -> None: ...
    def release(self) -> None: ...


# What ``StateStore.article`` returns for a delivered article, in this order (one home for
# the column list both stores select).
ARTICLE_FIELDS = ("content_hash", "revision", "translation_status", "first_seen", "title_hash", "source", "story_id")


def story_ref(article_id: str) -> int:
    """The signed 64-bit key a fingerprint and its band rows are stored under (from the
    article id's first 8 bytes: band rows stay small, and 2^64 leaves no room for collisions)."""
    return int.from_bytes(bytes.fromhex(article_id[:16].ljust(16, "0")), "big", signed=True)


def encode_print(article_id: str, story_id: str, minhash: bytes, numbers: bytes, keys: list[int]) -> list[Any]:
    """A fingerprint as a run's delivery payload (JSON) carries it."""
    return [article_id, story_id, base64.b64encode(minhash).decode("ascii"), base64.b64encode(numbers).decode(), keys]


def decode_print(entry: list[Any]) -> tuple[str, str, bytes, bytes, list[int]]:
    article_id, story_id, minhash, numbers, keys = entry
    decoded = base64.b64decode(minhash), base64.b64decode(numbers)
    return str(article_id), str(story_id), *decoded, [int(key) for key in keys]


def document_record(row: tuple[Any, ...], decode: Callable[[Any], Any]) -> DocumentRecord:
    """A ``discovery`` row (DOCUMENT_COLUMNS, JSON columns read with ``decode``) as a record."""
    values = dict(zip(DOCUMENT_COLUMNS, row, strict=True))
    children = decode(values["children"])
    return DocumentRecord(
        url=values["url"],
        etag=values["etag"],
        last_modified=values["last_modified"],
        fetched=float(values["last_fetched"]) if values["last_fetched"] is not None else None,
        changed=float(values["changed"]) if values["changed"] is not None else None,
        complete=bool(values["complete"]),
        children=tuple((str(link), lastmod) for link, lastmod in children) if isinstance(children, list) else None,
        digest=values["digest"],
        listed=values["listed"],
        cursor=decode(values["cursor"]) if values["cursor"] is not None else None,
    )


def document_rows(batch: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """A run's document records as ``discovery`` rows (JSON columns still as Python values).

    Payloads written by releases before the revisit policy (a killed run's delivery, settled
    by the next run) carry ``validators``: (url, etag, last_modified, children) of complete reads."""
    rows = []
    for doc in batch.get("documents", []):
        row = {column: doc.get(column) for column in DOCUMENT_COLUMNS}
        row["last_fetched"] = int(doc["fetched"] if doc.get("fetched") is not None else now)
        row["complete"] = int(bool(doc.get("complete", True)))
        rows.append(row)
    for doc in batch.get("validators", []):
        row = dict.fromkeys(DOCUMENT_COLUMNS)
        row.update(url=doc[0], etag=doc[1], last_modified=doc[2], last_fetched=now, complete=1)
        row["children"] = doc[3] if len(doc) > 3 else None
        rows.append(row)
    return rows


def cache_key(provider: str, source: str, target: str, text: str) -> bytes:
    return hashlib.blake2b(f"{provider}\0{source}\0{target}\0{text}".encode(), digest_size=16).digest()


def state_url(settings: Any) -> str | None:
    """STATE_URL, when state is shared in PostgreSQL; None for the SQLite file at STATE_DB."""
    url = str(settings.get("STATE_URL") or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise StateError(f"STATE_URL must be a postgresql://… URL (or unset for SQLite at STATE_DB), not {url[:40]!r}")
    return url


def open_store(settings: Any) -> StateStore:
    if url := state_url(settings):
        from crawler.state.postgres_store import PostgresStore

        return PostgresStore(url)
    from crawler.state.sqlite_store import StateDB  # it imports StateError from here

    return StateDB(settings.get("STATE_DB"))


def run_lock(settings: Any, run_id: str | None = None, shard: int | None = None) -> Lock:
    """The lock a crawl holds: the flock beside STATE_DB, or under STATE_URL the run lease
    (a shard of a distributed run joins its run's lease instead of taking one)."""
    if url := state_url(settings):
        from crawler.state.lease import LeaseLock, ShardLock

        if shard is not None and run_id:
            return ShardLock(url, run_id, shard, lease_seconds(settings))
        return LeaseLock(url, lease_seconds(settings), settings.getfloat("RUN_HEARTBEAT_SECONDS", 5))
    return RunLock(settings.get("STATE_DB"))


def lease_seconds(settings: Any) -> float:
    """How long a run's heartbeat may be silent before the run is taken as dead."""
    return max(settings.getfloat("RUN_LEASE_SECONDS", 300), 3 * settings.getfloat("RUN_HEARTBEAT_SECONDS", 5))


def preflight(settings: Any) -> None:
    """Raise StateError, before anything is crawled, when the store cannot be used."""
    if state_url(settings):
        open_store(settings).close()  # connects, and brings the schema up to date
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
