"""The embedded state database (SQLite at STATE_DB).

One file holds everything a run needs from earlier runs. Its schema is
versioned with ``PRAGMA user_version``; ``MIGRATIONS[n]`` upgrades version n to
n + 1, so a newer release opens any older database, and an older release
refuses a newer one instead of corrupting it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "StateDB", "StateError", "cache_key", "last_summary"]


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


def _v1_to_v2(db: sqlite3.Connection) -> None:
    # Delivered articles: what the last completed output file holds for each id.
    db.execute(
        "CREATE TABLE articles ("
        " id TEXT PRIMARY KEY,"
        " source TEXT NOT NULL,"
        " canonical_url TEXT NOT NULL,"
        " first_seen INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL,"
        " content_hash TEXT NOT NULL,"
        " revision INTEGER NOT NULL,"
        " translation_status TEXT NOT NULL,"
        # The whole record while its translation has failed, so a later run can
        # retry the translation without downloading the page again.
        " retry_record TEXT"
        ") WITHOUT ROWID"
    )
    db.execute("CREATE INDEX articles_last_seen ON articles (last_seen)")
    db.execute("CREATE INDEX articles_retry ON articles (source) WHERE retry_record IS NOT NULL")
    # Article URLs as discovered (normalised key) -> the article they led to, and per
    # feed/sitemap the marker (updated/published/lastmod) it gave the URL, as JSON
    # {document URL: marker}: a feed's pubDate and a sitemap's lastmod differ, so a
    # marker is only ever compared with one from the same document.
    db.execute(
        "CREATE TABLE urls ("
        " key TEXT PRIMARY KEY,"
        " article_id TEXT NOT NULL,"
        " markers TEXT NOT NULL DEFAULT '{}',"
        " last_seen INTEGER NOT NULL"
        ") WITHOUT ROWID"
    )
    db.execute("CREATE INDEX urls_last_seen ON urls (last_seen)")
    db.execute("CREATE INDEX urls_article ON urls (article_id)")
    # Feeds and sitemaps: validators for conditional requests.
    db.execute(
        "CREATE TABLE discovery ("
        " url TEXT PRIMARY KEY,"
        " etag TEXT,"
        " last_modified TEXT,"
        " last_fetched INTEGER NOT NULL"
        ") WITHOUT ROWID"
    )
    # Deliveries written just before an output file is renamed into place; the
    # next run keeps them if the file exists and drops them if it does not.
    db.execute(
        "CREATE TABLE pending ("
        " run_id TEXT NOT NULL,"
        " path TEXT NOT NULL,"
        " probe_id TEXT,"
        " payload TEXT NOT NULL,"
        " PRIMARY KEY (run_id, path)"
        ") WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE runs ("
        " run_id TEXT PRIMARY KEY,"
        " started INTEGER NOT NULL,"
        " finished INTEGER,"
        " summary TEXT"
        ") WITHOUT ROWID"
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v0_to_v1, _v1_to_v2]
SCHEMA_VERSION = len(MIGRATIONS)


def cache_key(provider: str, source: str, target: str, text: str) -> bytes:
    return hashlib.blake2b(f"{provider}\0{source}\0{target}\0{text}".encode(), digest_size=16).digest()


def last_summary(db: sqlite3.Connection) -> dict[str, Any] | None:
    """The summary of the last finished run (also used on a read-only connection)."""
    row = db.execute("SELECT summary FROM runs WHERE summary IS NOT NULL ORDER BY finished DESC LIMIT 1").fetchone()
    return json.loads(row[0]) if row else None


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

    # --- articles, urls, discovery validators ----------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        row = self.db.execute("SELECT etag, last_modified FROM discovery WHERE url=?", (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def known_url(self, key: str) -> tuple[str, dict[str, str]] | None:
        """(article id or "" for a page that held no article, {document: marker}) for a URL key."""
        row = self.db.execute("SELECT article_id, markers FROM urls WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        try:
            markers = json.loads(row[1] or "{}")
        except ValueError:
            markers = {}
        return row[0], markers if isinstance(markers, dict) else {}

    def article(self, article_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT content_hash, revision, translation_status, first_seen FROM articles WHERE id=?", (article_id,)
        ).fetchone()
        if row is None:
            return None
        return {"content_hash": row[0], "revision": row[1], "translation_status": row[2], "first_seen": row[3]}

    def retry_records(self, source: str, limit: int) -> list[tuple[str, list[str]]]:
        """Records whose translation failed, newest first, with the URL keys that lead to them."""
        rows = self.db.execute(
            "SELECT id, retry_record FROM articles WHERE source=? AND retry_record IS NOT NULL"
            " ORDER BY last_seen DESC LIMIT ?",
            (source, limit),
        ).fetchall()
        result = []
        for article_id, record in rows:
            keys = [key for (key,) in self.db.execute("SELECT key FROM urls WHERE article_id=?", (article_id,))]
            result.append((record, keys))
        return result

    def apply(self, batch: dict[str, Any]) -> None:
        """Apply one run's changes (see runstate.Batch.payload) in a single transaction."""
        now = int(batch["now"])
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO articles (id, source, canonical_url, first_seen, last_seen, content_hash, revision,"
                " translation_status, retry_record) VALUES (:id, :source, :canonical_url, :now, :now, :content_hash,"
                " :revision, :translation_status, :retry_record)"
                " ON CONFLICT(id) DO UPDATE SET source=excluded.source, canonical_url=excluded.canonical_url,"
                " last_seen=excluded.last_seen, content_hash=excluded.content_hash, revision=excluded.revision,"
                " translation_status=excluded.translation_status, retry_record=excluded.retry_record",
                [{**article, "now": now} for article in batch["articles"]],
            )
            db.executemany("UPDATE articles SET last_seen=? WHERE id=?", [(now, i) for i in batch["touched"]])
            db.executemany(
                "INSERT INTO urls (key, article_id, markers, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET article_id=excluded.article_id,"
                " markers=json_patch(urls.markers, excluded.markers), last_seen=excluded.last_seen",
                [(key, article_id, json.dumps(markers), now) for key, article_id, markers in batch["urls"]],
            )
            db.executemany(
                "INSERT INTO discovery (url, etag, last_modified, last_fetched) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(url) DO UPDATE SET etag=excluded.etag, last_modified=excluded.last_modified,"
                " last_fetched=excluded.last_fetched",
                [(url, etag, modified, now) for url, etag, modified in batch["validators"]],
            )

    # --- two-phase delivery ---------------------------------------------------------

    def write_pending(self, run_id: str, path: str, probe_id: str | None, payload: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO pending (run_id, path, probe_id, payload) VALUES (?, ?, ?, ?)",
                (run_id, path, probe_id, payload),
            )

    def pending(self) -> list[tuple[str, str, str | None, str]]:
        return self.db.execute("SELECT run_id, path, probe_id, payload FROM pending").fetchall()

    def drop_pending(self, run_id: str, path: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM pending WHERE run_id=? AND path=?", (run_id, path))

    # --- runs and housekeeping --------------------------------------------------------

    def start_run(self, run_id: str, started: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO runs (run_id, started) VALUES (?, ?)", (run_id, started))

    def finish_run(self, run_id: str, finished: int, summary: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished=?, summary=? WHERE run_id=?", (finished, summary, run_id))

    def last_summary(self) -> dict[str, Any] | None:
        return last_summary(self.db)

    def prune(self, older_than: int) -> dict[str, int]:
        """Forget what was last seen before ``older_than`` (a Unix time)."""
        with self.transaction() as db:
            counts = {
                "articles": db.execute("DELETE FROM articles WHERE last_seen < ?", (older_than,)).rowcount,
                "urls": db.execute("DELETE FROM urls WHERE last_seen < ?", (older_than,)).rowcount,
                "discovery": db.execute("DELETE FROM discovery WHERE last_fetched < ?", (older_than,)).rowcount,
                "translations": db.execute("DELETE FROM translation_cache WHERE used < ?", (older_than,)).rowcount,
                "runs": db.execute("DELETE FROM runs WHERE started < ?", (older_than,)).rowcount,
            }
        return counts

    def counts(self) -> dict[str, int]:
        tables = ("articles", "urls", "discovery", "translation_cache", "runs")
        return {table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
