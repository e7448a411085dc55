"""The embedded state database (SQLite at STATE_DB).

One file holds everything a run needs from earlier runs. Its schema is
versioned with ``PRAGMA user_version``; ``MIGRATIONS[n]`` upgrades version n to
n + 1, so a newer release opens any older database, and an older release
refuses a newer one instead of corrupting it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "StateDB", "StateError", "cache_key", "state_for"]


class StateError(Exception):
    """The state database cannot be used; the message says why."""


def _v0_to_v1(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE translation_cache ("
        " key BLOB PRIMARY KEY,"
        " text_en TEXT NOT NULL,"
        " created INTEGER NOT NULL,"
        " used INTEGER NOT NULL"
        ") WITHOUT ROWID"
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v0_to_v1]
SCHEMA_VERSION = len(MIGRATIONS)


def cache_key(provider: str, source: str, target: str, text: str) -> bytes:
    return hashlib.blake2b(f"{provider}\0{source}\0{target}\0{text}".encode(), digest_size=16).digest()


class StateDB:
    """A connection to the state database, used from one thread (the reactor's)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database {self.path}: {exc}") from None
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer sources-crawler (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade, or point STATE_DB elsewhere"
            )
        while version < SCHEMA_VERSION:
            with self.transaction():
                MIGRATIONS[version](self.db)
                version += 1
                self.db.execute(f"PRAGMA user_version={version}")

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    # --- translation cache ------------------------------------------------------

    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]:
        keys = list(dict.fromkeys(keys))
        found: dict[bytes, str] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            found.update(self.db.execute(f"SELECT key, text_en FROM translation_cache WHERE key IN ({marks})", batch))
        if found:
            now = int(time.time())
            with self.transaction():
                self.db.executemany("UPDATE translation_cache SET used=? WHERE key=?", [(now, key) for key in found])
        return found

    def cache_translations(self, entries: Iterable[tuple[bytes, str]]) -> None:
        now = int(time.time())
        with self.transaction():
            self.db.executemany(
                "INSERT INTO translation_cache (key, text_en, created, used) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET text_en=excluded.text_en, used=excluded.used",
                [(key, text, now, now) for key, text in entries],
            )


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def state_for(crawler: Any) -> StateDB:
    """The crawl's one StateDB (opened on first use, closed when the engine stops)."""
    db = getattr(crawler, "_sources_state_db", None)
    if db is None:
        from scrapy import signals

        db = StateDB(crawler.settings.get("STATE_DB"))
        crawler._sources_state_db = db
        crawler.signals.connect(db.close, signal=signals.engine_stopped, weak=False)
    return db
