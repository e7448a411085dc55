"""The embedded state database (SQLite at STATE_DB).

One file holds everything a run needs from earlier runs. Its schema is
versioned with ``PRAGMA user_version``; ``MIGRATIONS[n]`` upgrades version n to
n + 1, so a newer release opens any older database, and an older release
refuses a newer one instead of corrupting it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from crawler.frontier.book import FrontierEntry
from crawler.frontier.revisit import DocumentRecord
from crawler.state import rows as shared
from crawler.state import sql, watch_rows
from crawler.state.store import StateError
from crawler.translation.cache import USED_RESOLUTION
from crawler.watch.search_query import SearchQuery

__all__ = [
    "SCHEMA_VERSION",
    "StateDB",
    "StateError",
    "check_state_file",
    "last_summary",
    "read_history",
    "read_last_summary",
    "run_history",
]


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
    _v2_articles_and_urls(db)
    _v2_documents_deliveries_runs(db)


def _v2_articles_and_urls(db: sqlite3.Connection) -> None:
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


def _v2_documents_deliveries_runs(db: sqlite3.Connection) -> None:
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


def _v2_to_v3(db: sqlite3.Connection) -> None:
    # What a sitemap index (or any document with children) listed when it was last
    # read in full, as JSON [[url, lastmod], ...]: a 304 for the index must not stop
    # its children from being checked, and a 304 has no body to read them from.
    db.execute("ALTER TABLE discovery ADD COLUMN children TEXT")
    # Headline changes count as edits too; NULL for rows written before this version.
    db.execute("ALTER TABLE articles ADD COLUMN title_hash TEXT")
    # A moved article (new URL, same text) is recognised by its content within its source.
    db.execute("CREATE INDEX articles_source_hash ON articles (source, content_hash)")
    # Runs of a URL that gave no article for a reason that may pass (a 404 before the
    # page goes live): it is tried again on later runs until this many have failed.
    db.execute("ALTER TABLE urls ADD COLUMN failures INTEGER NOT NULL DEFAULT 0")
    # The sites' own URL rules (robots.txt Clean-param), per host, as JSON [[params], path]:
    # known from the first link of the next run, before any robots.txt is read again.
    db.execute(
        "CREATE TABLE site_rules (host TEXT PRIMARY KEY, rules TEXT NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID"
    )
    # One row per run being published: its deliveries, and every file (path, inode,
    # size) it renamed into place. ``complete`` is set with the last file; a killed
    # run's deliveries are kept only if it is set and every file is still the one
    # this run wrote.
    db.execute(
        "CREATE TABLE deliveries ("
        " run_id TEXT PRIMARY KEY,"
        " payload TEXT NOT NULL,"
        " files TEXT NOT NULL DEFAULT '[]',"
        " complete INTEGER NOT NULL DEFAULT 0"
        ") WITHOUT ROWID"
    )


def _v3_to_v4(db: sqlite3.Connection) -> None:
    # The story a delivered article belongs to (crawler/stories); NULL for rows written before.
    db.execute("ALTER TABLE articles ADD COLUMN story_id TEXT")
    # Recent texts' MinHash fingerprints, keyed by a 64-bit integer from the article id (a
    # compact key for the band rows), and their LSH band keys: one indexed query finds the
    # texts that may be near-duplicates of a new one. A print keeps its own band keys, so
    # its band rows are deleted by their primary key (an index on ref would double them).
    db.execute(
        "CREATE TABLE story_prints (ref INTEGER PRIMARY KEY, article_id TEXT NOT NULL, story_id TEXT NOT NULL,"
        " minhash BLOB NOT NULL, numbers BLOB NOT NULL, bands BLOB NOT NULL, written INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX story_prints_written ON story_prints (written)")
    db.execute(
        "CREATE TABLE story_bands (key INTEGER NOT NULL, ref INTEGER NOT NULL, PRIMARY KEY (key, ref)) WITHOUT ROWID"
    )
    # Articles that another edition's hreflang links name: their story, once they are crawled.
    db.execute(
        "CREATE TABLE story_links (article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, last_seen INTEGER NOT NULL)"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX story_links_last_seen ON story_links (last_seen)")


def _v4_to_v5(db: sqlite3.Connection) -> None:
    # The revisit policy of discovery documents (crawler/frontier/revisit.py): whether the last
    # read succeeded, when what it lists last changed (and a digest to tell), the lastmod its
    # index gave it when it was read, and a paginated archive's backfill position. Rows written
    # before were complete reads: the defaults say so.
    db.execute("ALTER TABLE discovery ADD COLUMN complete INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE discovery ADD COLUMN changed REAL")
    db.execute("ALTER TABLE discovery ADD COLUMN digest TEXT")
    db.execute("ALTER TABLE discovery ADD COLUMN listed TEXT")
    db.execute("ALTER TABLE discovery ADD COLUMN cursor TEXT")
    # The retry frontier (crawler/frontier/book.py): article pages owed until they come.
    db.execute(
        "CREATE TABLE frontier (key TEXT PRIMARY KEY, url TEXT NOT NULL, source TEXT NOT NULL,"
        " via_kind TEXT NOT NULL, via_url TEXT NOT NULL, entry TEXT, marker TEXT, dated REAL, reason TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0, first_seen REAL NOT NULL, first_failed REAL, next_at REAL NOT NULL)"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX frontier_source ON frontier (source)")


def _v5_to_v6(db: sqlite3.Connection) -> None:
    # Evidence (crawler/evidence): per delivered article, its revisit schedule, removal and last
    # record (sql.EVIDENCE_COLUMNS). A rowid table: the records are kilobytes each.
    db.execute(
        "CREATE TABLE evidence (id TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL, etag TEXT,"
        " last_modified TEXT, next_check REAL, gone TEXT, removed REAL, record BLOB NOT NULL, updated INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX evidence_due ON evidence (next_check) WHERE next_check IS NOT NULL")
    db.execute("CREATE INDEX evidence_updated ON evidence (updated)")


# Texts as the search index reads them: ё as е, and the modifier letter apostrophe (ʼ, a letter
# to FTS5) as an apostrophe (a separator), as crawler/watch/words.py folds a query's words. FTS5's
# unicode61 folds case, but no Cyrillic diacritic. The index is built and taken apart through
# these same expressions (an external-content table must be told the values it indexed).
_FOLDED = "replace(replace(replace({}, 'ё', 'е'), 'Ё', 'Е'), 'ʼ', '''')"
_FTS_VALUES = ", ".join(_FOLDED.format(f"{{row}}.{column}") for column in sql.TEXT_COLUMNS)


def _v6_to_v7(db: sqlite3.Connection) -> None:
    # The search index (scrapy sources search; crawler/state/watch_rows.py): each delivered
    # article's last texts, indexed by FTS5 (porter: English words by their stem).
    db.execute(
        "CREATE TABLE search_docs (rowid INTEGER PRIMARY KEY, article_id TEXT NOT NULL UNIQUE, source TEXT NOT NULL,"
        " language TEXT, url TEXT NOT NULL, story_id TEXT, published TEXT, dated INTEGER NOT NULL,"
        " delivered INTEGER NOT NULL, revision INTEGER NOT NULL, change TEXT, title TEXT, summary TEXT, text TEXT,"
        " title_en TEXT, summary_en TEXT, text_en TEXT)"
    )
    db.execute("CREATE INDEX search_docs_dated ON search_docs (dated)")
    db.execute("CREATE INDEX search_docs_source ON search_docs (source, delivered)")
    columns = ", ".join(sql.TEXT_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE search_text USING fts5({columns}, content='search_docs', content_rowid='rowid',"
        " tokenize='porter unicode61')"
    )
    insert = f"INSERT INTO search_text (rowid, {columns}) VALUES (new.rowid, {_FTS_VALUES.format(row='new')});"
    delete = (
        f"INSERT INTO search_text (search_text, rowid, {columns})"
        f" VALUES ('delete', old.rowid, {_FTS_VALUES.format(row='old')});"
    )
    db.execute(f"CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN {insert} END")
    db.execute(f"CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN {delete} END")
    db.execute(f"CREATE TRIGGER search_docs_changed AFTER UPDATE ON search_docs BEGIN {delete} {insert} END")
    # Watchlist matches, and the alerts they owe (one per watchlist and story).
    db.execute(
        "CREATE TABLE watch_matches (watchlist TEXT NOT NULL, article_id TEXT NOT NULL, story_id TEXT NOT NULL,"
        " source TEXT NOT NULL, matched INTEGER NOT NULL, terms TEXT NOT NULL, mentions INTEGER NOT NULL,"
        " seen_in TEXT NOT NULL, PRIMARY KEY (watchlist, article_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX watch_matches_matched ON watch_matches (matched)")
    db.execute(
        "CREATE TABLE alerts (watchlist TEXT NOT NULL, story_id TEXT NOT NULL, article_id TEXT NOT NULL,"
        " payload TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL, sent INTEGER, given_up INTEGER, error TEXT, PRIMARY KEY (watchlist, story_id))"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX alerts_due ON alerts (next_at) WHERE sent IS NULL AND given_up IS NULL")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v0_to_v1, _v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5, _v5_to_v6, _v6_to_v7,
]  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)


def last_summary(db: sqlite3.Connection) -> dict[str, Any] | None:
    """The summary of the last finished run (also used on a read-only connection)."""
    row = db.execute(sql.LAST_SUMMARY).fetchone()
    return json.loads(row[0]) if row else None


def run_history(db: sqlite3.Connection, since: float) -> list[tuple[float, dict[str, Any]]]:
    """(finished, summary) of every finished run since ``since`` (a Unix time), oldest first."""
    rows = db.execute(sql.RUN_HISTORY, {"since": int(since)}).fetchall()
    history = []
    for finished, text in rows:
        try:
            history.append((float(finished), json.loads(text)))
        except (TypeError, ValueError):
            continue  # one unreadable summary must not hide the rest
    return history


def _read_only(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None


def read_last_summary(path: Path) -> dict[str, Any] | None:
    """The last run's summary from the file at ``path``, opened read-only; None if unreadable."""
    db = _read_only(path)
    if db is None:
        return None
    try:
        return last_summary(db)
    except sqlite3.Error:
        return None
    finally:
        db.close()


def read_history(path: Path, since: float) -> list[tuple[float, dict[str, Any]]]:
    """The run history from the file at ``path``, opened read-only; [] if unreadable."""
    db = _read_only(path)
    if db is None:
        return []
    try:
        return run_history(db, since)
    except sqlite3.Error:
        return []
    finally:
        db.close()


_FIX_HINT = (
    "move it aside to start afresh (the next run then emits every article it finds once more), "
    "restore a backup, or point STATE_DB elsewhere"
)


def check_state_file(path: str | Path) -> None:
    """Raise StateError when ``path`` cannot serve as the state database; never writes to it.

    Run before a crawl starts, so that a corrupt, truncated or misplaced file
    stops the run with one clear line instead of failing half-way through it."""
    path = Path(path)
    if path.is_dir():
        raise StateError(f"the state database {path} is a directory, not a file; point STATE_DB at a file")
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state database {path}: {exc.strerror or exc}") from None
        return
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"cannot open the state database {path}: {exc}") from None
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise StateError(f"the state database {path} is unusable ({exc}); {_FIX_HINT}") from None
    finally:
        db.close()
    if problems != ["ok"]:
        raise StateError(f"the state database {path} is damaged ({'; '.join(problems)[:300]}); {_FIX_HINT}")


class _AnalystReads:
    """The analyst's reads (search, feeds, matches) on ``self.db``, shared by the store a run
    writes through and the read-only file the commands open."""

    db: sqlite3.Connection
    path: Path

    def search_candidates(self, query: SearchQuery, offset: int, limit: int) -> list[dict[str, Any]]:
        return self._reading(lambda: search_candidates(self.db, query, offset, limit))

    def feed_entries(self, kind: str, name: str, limit: int) -> list[dict[str, Any]]:
        return self._reading(lambda: feed_entries(self.db, kind, name, limit))

    def matches_since(self, since: float) -> list[dict[str, Any]]:
        return self._reading(lambda: matches_since(self.db, since))

    def _reading(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except sqlite3.Error as exc:
            raise StateError(f"cannot read the state database {self.path}: {exc}") from None


class StateDB(_AnalystReads):
    """A connection to the state database, used from one thread (the reactor's)."""

    threadsafe = False

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database {self.path}: {exc}") from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StateError(f"the state database {self.path} is unusable ({exc}); {_FIX_HINT}") from None

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
        return _Transaction(self.db, self.path)

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    # --- translation cache ------------------------------------------------------

    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]:
        keys = list(dict.fromkeys(keys))
        found: dict[bytes, str] = {}
        stale: list[bytes] = []
        now = int(time.time())
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(f"SELECT key, text_en, used FROM translation_cache WHERE key IN ({marks})", batch)
            for key, text, used in rows:
                found[key] = text
                if used < now - USED_RESOLUTION:
                    stale.append(key)
        if stale:  # a write transaction only when a piece's day of use changes
            with self.transaction():
                self.db.executemany("UPDATE translation_cache SET used=? WHERE key=?", [(now, key) for key in stale])
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

    def documents(self, urls: list[str]) -> dict[str, DocumentRecord]:
        """The records of those of ``urls`` the state knows."""
        query = f"SELECT {', '.join(sql.DOCUMENT_COLUMNS)} FROM discovery WHERE url IN ({{marks}})"
        return {row[0]: shared.document_record(row, _json) for row in self._select_in(query, list(dict.fromkeys(urls)))}

    def frontier(self, sources: list[str]) -> list[FrontierEntry]:
        query = f"SELECT {', '.join(sql.FRONTIER_COLUMNS)} FROM frontier WHERE source IN ({{marks}})"
        rows = self._select_in(query, list(dict.fromkeys(sources)))
        return [FrontierEntry.from_row(dict(zip(sql.FRONTIER_COLUMNS, row, strict=True))) for row in rows]

    def untranslated(self) -> dict[str, int]:
        return {source: int(count) for source, count in self.db.execute(sql.UNTRANSLATED_BY_SOURCE)}

    def add_to_frontier(self, entries: list[FrontierEntry]) -> None:
        with self.transaction() as db:
            db.executemany(sql.FRONTIER_ADD, [entry.row() for entry in entries])

    def known_url(self, key: str) -> shared.KnownUrl | None:
        return self.known_urls([key]).get(key)

    def known_urls(self, keys: list[str]) -> dict[str, shared.KnownUrl]:
        query = "SELECT key, article_id, markers, failures FROM urls WHERE key IN ({marks})"
        return dict(shared.known_url(row, _json) for row in self._select_in(query, list(dict.fromkeys(keys))))

    def article(self, article_id: str) -> dict[str, Any] | None:
        return self.articles([article_id]).get(article_id)

    def articles(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        query = f"SELECT id, {', '.join(shared.ARTICLE_FIELDS)} FROM articles WHERE id IN ({{marks}})"
        rows = self._select_in(query, list(dict.fromkeys(article_ids)))
        return {row[0]: dict(zip(shared.ARTICLE_FIELDS, row[1:], strict=True)) for row in rows}

    def due_checks(self, now: float, limit: int) -> list[shared.DueCheck]:
        rows = self.db.execute(sql.EVIDENCE_DUE, {"now": now, "limit": limit}).fetchall()
        return [shared.DueCheck.from_row(row) for row in rows]

    def evidence_records(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        rows = self._select_in("SELECT id, record FROM evidence WHERE id IN ({marks})", article_ids)
        return {row[0]: record for row in rows if (record := shared.unpack_record(row[1])) is not None}

    def site_rules(self) -> dict[str, list[list[Any]]]:
        """{host: [[params], path], ...} as learned from the hosts' robots.txt."""
        rules: dict[str, list[list[Any]]] = {}
        for host, value in self.db.execute(sql.SITE_RULES):
            try:
                rules[host] = json.loads(value)
            except ValueError:
                continue
        return rules

    def article_with_text(self, source: str, content_hash: str) -> str | None:
        """The id of a delivered article of ``source`` whose text hashes to ``content_hash``."""
        row = self.db.execute(sql.ARTICLE_WITH_TEXT, {"source": source, "content_hash": content_hash}).fetchone()
        return row[0] if row else None

    def _select_in(self, query: str, values: list[Any]) -> list[tuple[Any, ...]]:
        """``query`` with ``IN ({marks})`` over ``values``, in slices SQLite accepts."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            rows += self.db.execute(query.format(marks=",".join("?" * len(part))), part).fetchall()
        return rows

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story of each delivered article among ``article_ids`` that has one."""
        query = "SELECT id, story_id FROM articles WHERE story_id IS NOT NULL AND id IN ({marks})"
        return dict(self._select_in(query, list(dict.fromkeys(article_ids))))

    def linked_stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story that another edition's link gave each of ``article_ids``, where one did."""
        query = "SELECT article_id, story_id FROM story_links WHERE article_id IN ({marks})"
        return dict(self._select_in(query, list(dict.fromkeys(article_ids))))

    def story_candidates(self, keys: list[int], limit: int) -> list[tuple[str, str, bytes, bytes]]:
        """(article id, story id, MinHash, numbers) of the ``limit`` stored texts sharing the most
        LSH band keys with ``keys`` (one text has a few dozen keys)."""
        rows = self.db.execute(
            "SELECT p.article_id, p.story_id, p.minhash, p.numbers FROM story_prints p JOIN"
            " (SELECT ref, COUNT(*) AS shared FROM story_bands WHERE key IN"
            f" ({','.join('?' * len(keys))}) GROUP BY ref ORDER BY shared DESC LIMIT ?) c ON c.ref = p.ref"
            " ORDER BY c.shared DESC",
            [*keys, limit],
        ).fetchall()
        return [(row[0], row[1], bytes(row[2]), bytes(row[3])) for row in rows]

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
                " translation_status, retry_record, title_hash, story_id) VALUES (:id, :source, :canonical_url,"
                " :now, :now, :content_hash, :revision, :translation_status, :retry_record, :title_hash, :story_id)"
                " ON CONFLICT(id) DO UPDATE SET source=excluded.source, canonical_url=excluded.canonical_url,"
                " last_seen=excluded.last_seen, content_hash=excluded.content_hash, revision=excluded.revision,"
                " translation_status=excluded.translation_status, retry_record=excluded.retry_record,"
                " title_hash=excluded.title_hash, story_id=COALESCE(articles.story_id, excluded.story_id)",
                [{"title_hash": None, "story_id": None, **article, "now": now} for article in batch["articles"]],
            )
            self._apply_stories(db, batch, now)
            db.executemany("UPDATE articles SET last_seen=? WHERE id=?", [(now, i) for i in batch["touched"]])
            db.executemany(sql.EVIDENCE_UPSERT, shared.evidence_rows(batch, now))
            db.executemany(sql.EVIDENCE_CHECKED, shared.check_rows(batch, now))
            self._apply_analyst(db, batch, now)
            db.executemany(
                "INSERT INTO urls (key, article_id, markers, last_seen, failures) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET article_id=excluded.article_id,"
                " markers=json_patch(urls.markers, excluded.markers), last_seen=excluded.last_seen,"
                " failures=excluded.failures",
                [
                    (url[0], url[1], json.dumps(url[2] or {}), now, url[3] if len(url) > 3 else 0)
                    for url in batch["urls"]
                ],
            )
            documents = [
                {**row, "children": _dumps(row["children"]), "cursor": _dumps(row["cursor"])}
                for row in shared.document_rows(batch, now)
            ]
            db.executemany(sql.DOCUMENT_UPSERT, documents)
            db.executemany(sql.FRONTIER_DELETE, [{"key": key} for key in batch.get("frontier_done", [])])
            db.executemany(sql.FRONTIER_UPSERT, batch.get("frontier_failed", []))
            db.executemany(
                "INSERT INTO site_rules (host, rules, updated) VALUES (?, ?, ?)"
                " ON CONFLICT(host) DO UPDATE SET rules=excluded.rules, updated=excluded.updated",
                [(host, json.dumps(rules), now) for host, rules in batch.get("site_rules", [])],
            )

    @staticmethod
    def _apply_analyst(db: sqlite3.Connection, batch: dict[str, Any], now: int) -> None:
        """The search index, the watchlist matches and the alerts owed, from the delivered records."""
        records = watch_rows.delivered_records(batch)
        db.executemany(sql.SEARCH_UPSERT, watch_rows.search_rows(records, now))
        db.executemany(sql.WATCH_MATCH_UPSERT, watch_rows.match_rows(records, now))
        db.executemany(sql.ALERT_ADD, watch_rows.alert_rows(batch, now))

    # --- the analyst: search, feeds, alerts --------------------------------------------

    def due_alerts(self, now: float, limit: int) -> list[shared.DueAlert]:
        rows = self._reading(lambda: self.db.execute(sql.ALERTS_DUE, {"now": int(now), "limit": limit}).fetchall())
        return [shared.DueAlert.from_row(row) for row in rows]

    def record_alerts(self, outcomes: list[dict[str, Any]]) -> None:
        """What became of alerts: each outcome has ``sent`` (a time) or ``next_at``/``given_up``."""
        with self.transaction() as db:
            db.executemany(sql.ALERT_SENT, [o for o in outcomes if o.get("sent")])
            db.executemany(sql.ALERT_FAILED, [o for o in outcomes if not o.get("sent")])

    def waiting_alerts(self) -> dict[str, tuple[int, int]]:
        rows = self._reading(lambda: self.db.execute(sql.ALERTS_WAITING).fetchall())
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    @staticmethod
    def _apply_stories(db: sqlite3.Connection, batch: dict[str, Any], now: int) -> None:
        for article_id, story_id, minhash, numbers, keys in map(shared.decode_print, batch.get("stories", [])):
            ref = shared.story_ref(article_id)
            _drop_bands(db, db.execute("SELECT ref, bands FROM story_prints WHERE ref=?", (ref,)).fetchall())
            db.execute(
                "INSERT OR REPLACE INTO story_prints (ref, article_id, story_id, minhash, numbers, bands, written)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ref, article_id, story_id, minhash, numbers, struct.pack(f"<{len(keys)}q", *keys), now),
            )
            db.executemany("INSERT OR IGNORE INTO story_bands (key, ref) VALUES (?, ?)", [(key, ref) for key in keys])
        links = batch.get("story_links", [])
        db.executemany(sql.STORY_LINK_UPSERT, [{"article_id": a, "story_id": s, "now": now} for a, s in links])

    # --- two-phase delivery ---------------------------------------------------------

    def write_delivery(self, run_id: str, payload: str, files: list[dict[str, Any]], complete: bool) -> None:
        """Phase 1: what the run delivers, and the files it has renamed into place so far."""
        with self.transaction() as db:
            values = {"run_id": run_id, "payload": payload, "files": json.dumps(files), "complete": int(complete)}
            db.execute(sql.DELIVERY_WRITE, values)

    def deliveries(self) -> list[tuple[str, str, list[dict[str, Any]], bool]]:
        rows = self.db.execute(sql.DELIVERIES).fetchall()
        found = [(run_id, payload, json.loads(files), bool(complete)) for run_id, payload, files, complete in rows]
        return found + self._legacy_deliveries()

    def _legacy_deliveries(self) -> list[tuple[str, str, list[dict[str, Any]], bool]]:
        """Rows of the schema-2 ``pending`` table, left by a run of an earlier release, as
        deliveries: complete when the file holds the row's probe article, and then named by
        the file's inode and size, as deliveries are now. A SQLite matter alone: PostgreSQL
        never had that table."""
        found = []
        for run_id, path, probe_id, payload in self.db.execute("SELECT run_id, path, probe_id, payload FROM pending"):
            try:
                info = os.stat(path)
                kept = probe_id is None or probe_id in Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                found.append((run_id, payload, [{"path": path}], False))
                continue
            found.append((run_id, payload, [{"path": path, "inode": info.st_ino, "size": info.st_size}], kept))
        return found

    def drop_delivery(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute(sql.DELIVERY_DROP, {"run_id": run_id})
            db.execute("DELETE FROM pending WHERE run_id=?", (run_id,))

    # --- runs and housekeeping --------------------------------------------------------

    def start_run(self, run_id: str, started: int) -> None:
        with self.transaction() as db:
            db.execute(sql.RUN_START, {"run_id": run_id, "started": started})

    def finish_run(self, run_id: str, finished: int, summary: str) -> None:
        with self.transaction() as db:
            db.execute(sql.RUN_FINISH, {"finished": finished, "summary": summary, "run_id": run_id})

    def last_summary(self) -> dict[str, Any] | None:
        return last_summary(self.db)

    def run_history(self, since: float) -> list[tuple[float, dict[str, Any]]]:
        try:
            return run_history(self.db, since)
        except sqlite3.Error as exc:
            raise StateError(f"the state database {self.path} cannot be read ({exc})") from exc

    def prune(self, older_than: int) -> dict[str, int]:
        """Forget what was last seen before ``older_than`` (a Unix time)."""
        with self.transaction() as db:
            old_prints = db.execute("SELECT ref, bands FROM story_prints WHERE written < ?", (older_than,)).fetchall()
            counts = {"story_bands": _drop_bands(db, old_prints)}
            for name, statement in sql.PRUNE.items():
                counts[name] = db.execute(statement, {"older_than": older_than}).rowcount
        return counts

    def counts(self) -> dict[str, int]:
        tables = (
            "articles",
            "urls",
            "discovery",
            "translation_cache",
            "runs",
            "story_prints",
            "story_bands",
            "frontier",
            "evidence",
        )
        return {table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except (TypeError, ValueError):
        return None


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _drop_bands(db: sqlite3.Connection, prints: list[tuple[int, bytes]]) -> int:
    """Delete the band rows of these (ref, packed band keys) prints; returns how many went."""
    rows = [(key, ref) for ref, bands in prints for key in struct.unpack(f"<{len(bands) // 8}q", bands)]
    before = db.total_changes
    db.executemany("DELETE FROM story_bands WHERE key=? AND ref=?", rows)
    return db.total_changes - before


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT; a write that fails (its disk is full, the file went bad
    mid-run) is rolled back and raised as a StateError naming the file."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db = db
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StateError(f"the state database {self.path} cannot be written ({exc})") from None
        return self.db

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.Error as error:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise StateError(f"the state database {self.path} cannot be written ({error})") from None
        if isinstance(exc, sqlite3.Error):
            raise StateError(f"the state database {self.path} cannot be written ({exc})") from None


# --- the analyst's reads: search, feeds, matches (also on a read-only connection) ---------------


def _fts_match(query: SearchQuery) -> str:
    """Every word of the query, each in any of its forms, as an FTS5 expression: a form is an
    FTS5 string (a phrase when the tokenizer splits it at an apostrophe)."""
    return " AND ".join(
        "(" + " OR ".join('"' + form.replace('"', '""') + '"' for form in sorted(word.forms)) + ")"
        for word in query.words
    )


def search_candidates(db: sqlite3.Connection, query: SearchQuery, offset: int, limit: int) -> list[dict[str, Any]]:
    """Articles holding every word of ``query`` in some form, newest first, with the filters."""
    where = ["d.rowid IN (SELECT rowid FROM search_text WHERE search_text MATCH :match)"]
    params: dict[str, Any] = {"match": _fts_match(query), "offset": offset, "limit": limit}
    if query.since is not None:
        where.append("d.dated >= :since")
        params["since"] = int(query.since)
    if query.story:
        where.append("d.story_id = :story")
        params["story"] = query.story
    for column, values in (("source", query.sources), ("language", query.languages)):
        if values:
            names = [f"{column}{i}" for i in range(len(values))]
            where.append(f"d.{column} IN ({', '.join(':' + n for n in names)})")
            params.update(zip(names, values, strict=True))
    # The page's row ids first, sorted by the small leading columns alone: sorting whole rows
    # (their texts) for a word in thousands of articles took 150 ms of 165.
    ranked = (
        f"SELECT d.rowid FROM search_docs d WHERE {' AND '.join(where)}"
        " ORDER BY d.dated DESC, d.rowid DESC LIMIT :limit OFFSET :offset"
    )
    rowids = [row[0] for row in db.execute(ranked, params)]
    if not rowids:
        return []
    marks = ", ".join("?" * len(rowids))
    statement = f"SELECT d.rowid, {sql.SEARCH_FIELDS} FROM search_docs d WHERE d.rowid IN ({marks})"
    rows = {row[0]: dict(zip(sql.SEARCH_COLUMNS, row[1:], strict=True)) for row in db.execute(statement, rowids)}
    return [rows[rowid] for rowid in rowids if rowid in rows]


def feed_entries(db: sqlite3.Connection, kind: str, name: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` delivered articles of a source (kind "sources") or a watchlist."""
    statement = sql.FEED_OF_SOURCE if kind == "sources" else sql.FEED_OF_WATCHLIST
    rows = db.execute(statement, {"name": name, "limit": limit})
    return [dict(zip(sql.SEARCH_COLUMNS, row, strict=True)) for row in rows]


def matches_since(db: sqlite3.Connection, since: float) -> list[dict[str, Any]]:
    rows = db.execute(sql.MATCHES_SINCE, {"since": int(since)}).fetchall()
    return [dict(zip(shared.MATCH_FIELDS, row, strict=True)) for row in rows]


class SqliteReader(_AnalystReads):
    """The state file opened read-only, for the analyst's commands (search, alerts)."""

    def __init__(self, path: Path):
        self.path = path
        if not path.exists():
            raise StateError(f"there is no state database at {path} yet: run a crawl first")
        try:
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database {path}: {exc}") from None
        if version < 7:
            self.db.close()
            raise StateError(f"{path} has no search index yet (schema {version}): run a crawl first")

    def close(self) -> None:
        self.db.close()
