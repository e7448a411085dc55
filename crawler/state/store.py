"""The state store interface: everything a run reads from and writes to earlier runs' memory.

Components depend on ``StateStore`` and get one from ``open_store``; the SQLite file at
``STATE_DB`` is the first implementation. A second backend (state shared between machines)
implements this protocol and is chosen here, without touching the spider, the pipelines or
the exporters."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from crawler.state.lock import RunLock

__all__ = [
    "Lock",
    "StateError",
    "StateStore",
    "cache_key",
    "last_run_summary",
    "open_store",
    "preflight",
    "run_lock",
    "stored_history",
]


class StateError(Exception):
    """The state store cannot be used; the message says why (it names the file or server)."""


class StateStore(Protocol):
    """What runs remember. Every method raises ``StateError`` when the store fails."""

    # translation cache
    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]: ...
    def cache_translations(self, entries: Iterable[tuple[bytes, str]]) -> None: ...

    # discovery documents: validators and what each listed
    def validators(self, url: str) -> tuple[str | None, str | None]: ...
    def children(self, url: str) -> list[tuple[str, str | None]] | None: ...

    # URL knowledge, articles and revisions
    def known_url(self, key: str) -> tuple[str, dict[str, str], int] | None: ...
    def article(self, article_id: str) -> dict[str, Any] | None: ...
    def article_with_text(self, source: str, content_hash: str) -> str | None: ...
    def retry_records(self, source: str, limit: int) -> list[tuple[str, list[str]]]: ...
    def site_rules(self) -> dict[str, list[list[Any]]]: ...
    def apply(self, batch: dict[str, Any]) -> None: ...

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


class Lock(Protocol):
    """One run at a time per store; ``acquire`` raises RunLockedError when another holds it."""

    path: Path

    def acquire(self) -> None: ...
    def release(self) -> None: ...


def cache_key(provider: str, source: str, target: str, text: str) -> bytes:
    return hashlib.blake2b(f"{provider}\0{source}\0{target}\0{text}".encode(), digest_size=16).digest()


def open_store(settings: Any) -> StateStore:
    from crawler.state.sqlite_store import StateDB  # it imports StateError from here

    return StateDB(settings.get("STATE_DB"))


def run_lock(settings: Any) -> Lock:
    return RunLock(settings.get("STATE_DB"))


def preflight(settings: Any) -> None:
    """Raise StateError, before anything is crawled, when the store cannot be used."""
    from crawler.state.sqlite_store import check_state_file

    check_state_file(settings.get("STATE_DB"))


def last_run_summary(settings: Any) -> dict[str, Any] | None:
    """The last run's summary, read without creating or changing anything."""
    from crawler.state.sqlite_store import read_last_summary

    return read_last_summary(Path(settings.get("STATE_DB")))


def stored_history(settings: Any, since: float) -> list[tuple[float, dict[str, Any]]]:
    """(finished, summary) of the runs since ``since``, oldest first, read without changing anything."""
    from crawler.state.sqlite_store import read_history

    return read_history(Path(settings.get("STATE_DB")), since)
