"""State shared between machines: the state store in PostgreSQL (``STATE_URL=postgresql://…``).

The schema is the SQLite one carried over (BLOB → bytea, JSON documents → jsonb, upserts
stay ``ON CONFLICT``), plus what a run spread over several processes needs: a run lease
with a heartbeat (instead of the flock, which only one machine can see), claims that let
exactly one shard emit an article, and each shard's result. Migrations run under an
advisory lock, so workers starting together upgrade the schema once.

Every call is one transaction on a connection from a small psycopg pool; a server that
goes away raises ``StateError`` naming it (without its password), as a bad SQLite file does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from crawler.frontier.book import FrontierEntry
from crawler.frontier.revisit import DocumentRecord
from crawler.state import rows as shared
from crawler.state import sql, watch_rows
from crawler.state.run_lease import Lease
from crawler.state.store import StateError
from crawler.watch.search_query import QueryWord, SearchQuery

# The shared statements (crawler/state/sql.py) in psycopg's parameter style, converted once.
_ARTICLE_WITH_TEXT = sql.for_postgres(sql.ARTICLE_WITH_TEXT)
_DELIVERY_DROP = sql.for_postgres(sql.DELIVERY_DROP)
_RUN_START = sql.for_postgres(sql.RUN_START)
_DELIVERY_WRITE = sql.for_postgres(sql.DELIVERY_WRITE)
_STORY_LINK_UPSERT = sql.for_postgres(sql.STORY_LINK_UPSERT)
_RUN_FINISH = sql.for_postgres(sql.RUN_FINISH)
_RUN_HISTORY = sql.for_postgres(sql.RUN_HISTORY)
_PRUNE = {name: sql.for_postgres(statement) for name, statement in sql.PRUNE.items()}
_SEARCH_UPSERT = sql.for_postgres(sql.SEARCH_UPSERT)
_WATCH_MATCH_UPSERT = sql.for_postgres(sql.WATCH_MATCH_UPSERT)
_ALERT_ADD = sql.for_postgres(sql.ALERT_ADD)
_ALERTS_DUE = sql.for_postgres(sql.ALERTS_DUE)
_ALERT_SENT = sql.for_postgres(sql.ALERT_SENT)
_ALERT_FAILED = sql.for_postgres(sql.ALERT_FAILED)
_MATCHES_SINCE = sql.for_postgres(sql.MATCHES_SINCE)
_FEEDS = {"sources": sql.for_postgres(sql.FEED_OF_SOURCE), "watchlists": sql.for_postgres(sql.FEED_OF_WATCHLIST)}
# Pruning as data-modifying CTEs of one statement: they all see the state as it was, so the
# story bands go with the prints they belong to. Claims and shard results only matter while
# their run lasts; they are pruned too, and not counted.
_PRUNE_STEPS = {
    "story_bands": "DELETE FROM story_bands WHERE ref IN (SELECT ref FROM story_prints WHERE written < %(older_than)s)",
    **_PRUNE,
    "claims": "DELETE FROM claims WHERE run_id NOT IN (SELECT run_id FROM run_lease)",
    "shard_results": "DELETE FROM shard_results WHERE updated < %(older_than)s",
}
_PRUNED = ("story_bands", *_PRUNE)
_PRUNE_ALL = (
    "WITH "
    + ", ".join(f"gone_{name} AS ({statement} RETURNING 1)" for name, statement in _PRUNE_STEPS.items())
    + " SELECT "
    + ", ".join(f"(SELECT count(*) FROM gone_{name})" for name in _PRUNED)
)

__all__ = ["SCHEMA_VERSION", "Lease", "PostgresStore", "SessionLock", "ShardResult", "read_only", "server_name"]

# pg_advisory_xact_lock key for migrations ("srccrawl" in ASCII).
_MIGRATION_LOCK = 0x73726363726177
# Lease row name: one run at a time per database.
_LEASE = "sources"
# A shard's files so far and those of the attempt being recorded: each attempt of a shard
# publishes files of its own, and every one is kept.
_MERGED_FILES = (
    "(SELECT COALESCE(jsonb_agg(DISTINCT f), '[]')"
    " FROM jsonb_array_elements(shard_results.files || excluded.files) AS f)"
)


def server_name(url: str) -> str:
    """``host:port/dbname`` of a conninfo URL, for messages (never the password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "the PostgreSQL server at STATE_URL"
    return f"PostgreSQL {info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class SessionLock:
    """A session advisory lock and the connection that holds it (``PostgresStore.try_session_lock``)."""

    def __init__(self, store: PostgresStore, conn: psycopg.Connection):
        self._store, self._conn = store, conn

    def release(self) -> None:
        """Unlock and give the connection back; the connection goes back even when the
        server is gone (and then the lock went with the session)."""
        try:
            with self._store._errors():
                self._conn.execute("SELECT pg_advisory_unlock_all()")
        finally:
            self._store.pool.putconn(self._conn)


def _v0_to_v1(db: psycopg.Connection) -> None:
    db.execute(
        "CREATE TABLE translation_cache (key bytea PRIMARY KEY, text_en text NOT NULL,"
        " created bigint NOT NULL, used bigint NOT NULL)"
    )
    # retry_record and payload are kept verbatim (text): they are never queried inside,
    # and jsonb would refuse a NUL that a page's text may still carry.
    db.execute(
        "CREATE TABLE articles (id text PRIMARY KEY, source text NOT NULL, canonical_url text NOT NULL,"
        " first_seen bigint NOT NULL, last_seen bigint NOT NULL, content_hash text NOT NULL,"
        " revision integer NOT NULL, translation_status text NOT NULL, retry_record text, title_hash text)"
    )
    db.execute("CREATE INDEX articles_last_seen ON articles (last_seen)")
    db.execute("CREATE INDEX articles_retry ON articles (source) WHERE retry_record IS NOT NULL")
    db.execute("CREATE INDEX articles_source_hash ON articles (source, content_hash)")
    db.execute(
        "CREATE TABLE urls (key text PRIMARY KEY, article_id text NOT NULL,"
        " markers jsonb NOT NULL DEFAULT '{}', last_seen bigint NOT NULL, failures integer NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX urls_last_seen ON urls (last_seen)")
    db.execute("CREATE INDEX urls_article ON urls (article_id)")
    db.execute(
        "CREATE TABLE discovery (url text PRIMARY KEY, etag text, last_modified text,"
        " last_fetched bigint NOT NULL, children jsonb)"
    )
    db.execute("CREATE TABLE site_rules (host text PRIMARY KEY, rules jsonb NOT NULL, updated bigint NOT NULL)")
    db.execute(
        "CREATE TABLE deliveries (run_id text PRIMARY KEY, payload text NOT NULL,"
        " files jsonb NOT NULL DEFAULT '[]', complete boolean NOT NULL DEFAULT false)"
    )
    db.execute("CREATE TABLE runs (run_id text PRIMARY KEY, started bigint NOT NULL, finished bigint, summary jsonb)")
    db.execute("CREATE INDEX runs_finished ON runs (finished)")
    # A run over several processes: who holds the database, and how recently it said so.
    db.execute(
        "CREATE TABLE run_lease (name text PRIMARY KEY, run_id text NOT NULL, started double precision NOT NULL,"
        " heartbeat double precision NOT NULL, finished double precision, plan jsonb, status integer)"
    )
    # What one shard of a run emits (an article) or fetches (a URL); the first shard to claim wins.
    db.execute(
        "CREATE TABLE claims (run_id text NOT NULL, name text NOT NULL, shard integer NOT NULL,"
        " PRIMARY KEY (run_id, name))"
    )
    db.execute(
        "CREATE TABLE shard_results (run_id text NOT NULL, shard integer NOT NULL, status integer,"
        " summary jsonb, files jsonb NOT NULL DEFAULT '[]', committed boolean NOT NULL DEFAULT false,"
        " updated double precision NOT NULL, PRIMARY KEY (run_id, shard))"
    )


def _v1_to_v2(db: psycopg.Connection) -> None:
    # Stories (crawler/stories), as in the SQLite schema 4.
    db.execute("ALTER TABLE articles ADD COLUMN story_id text")
    db.execute(
        "CREATE TABLE story_prints (ref bigint PRIMARY KEY, article_id text NOT NULL, story_id text NOT NULL,"
        " minhash bytea NOT NULL, numbers bytea NOT NULL, written bigint NOT NULL)"
    )
    db.execute("CREATE INDEX story_prints_written ON story_prints (written)")
    db.execute("CREATE TABLE story_bands (key bigint NOT NULL, ref bigint NOT NULL, PRIMARY KEY (key, ref))")
    db.execute("CREATE INDEX story_bands_ref ON story_bands (ref)")
    db.execute(
        "CREATE TABLE story_links (article_id text PRIMARY KEY, story_id text NOT NULL, last_seen bigint NOT NULL)"
    )
    db.execute("CREATE INDEX story_links_last_seen ON story_links (last_seen)")


def _v2_to_v3(db: psycopg.Connection) -> None:
    # The revisit policy and the retry frontier, as in the SQLite schema 5.
    db.execute("ALTER TABLE discovery ADD COLUMN complete integer NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE discovery ADD COLUMN changed double precision")
    db.execute("ALTER TABLE discovery ADD COLUMN digest text")
    db.execute("ALTER TABLE discovery ADD COLUMN listed text")
    db.execute("ALTER TABLE discovery ADD COLUMN cursor jsonb")
    db.execute(
        "CREATE TABLE frontier (key text PRIMARY KEY, url text NOT NULL, source text NOT NULL,"
        " via_kind text NOT NULL, via_url text NOT NULL, entry text, marker text, dated double precision,"
        " reason text, attempts integer NOT NULL DEFAULT 0, first_seen double precision NOT NULL,"
        " first_failed double precision, next_at double precision NOT NULL)"
    )
    db.execute("CREATE INDEX frontier_source ON frontier (source)")


def _v3_to_v4(db: psycopg.Connection) -> None:
    # Evidence (crawler/evidence), as in the SQLite schema 6.
    db.execute(
        "CREATE TABLE evidence (id text PRIMARY KEY, source text NOT NULL, url text NOT NULL, etag text,"
        " last_modified text, next_check double precision, gone text, removed double precision,"
        " record bytea NOT NULL, updated bigint NOT NULL)"
    )
    db.execute("CREATE INDEX evidence_due ON evidence (next_check) WHERE next_check IS NOT NULL")
    db.execute("CREATE INDEX evidence_updated ON evidence (updated)")


# Texts as the search index reads them (as crawler/watch/words.py folds a query's words): the
# originals word for word ('simple': lower case only; every form is asked for), the English by
# its stems (a query's English words are stemmed the same way).
_ORIGINAL = "coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(text, '')"
_ENGLISH = "coalesce(title_en, '') || ' ' || coalesce(summary_en, '') || ' ' || coalesce(text_en, '')"
_SEARCH_VECTOR = (
    f"to_tsvector('simple'::regconfig, translate({_ORIGINAL}, 'ёЁʼ', 'еЕ'''))"
    f" || to_tsvector('english'::regconfig, translate({_ENGLISH}, 'ёЁʼ', 'еЕ'''))"
)


def _v4_to_v5(db: psycopg.Connection) -> None:
    # The search index, watchlist matches and alerts, as in the SQLite schema 7.
    db.execute(
        "CREATE TABLE search_docs (article_id text PRIMARY KEY, source text NOT NULL, language text, url text NOT NULL,"
        " story_id text, published text, dated bigint NOT NULL, delivered bigint NOT NULL, revision integer NOT NULL,"
        " change text, title text, summary text, text text, title_en text, summary_en text, text_en text,"
        f" tsv tsvector GENERATED ALWAYS AS ({_SEARCH_VECTOR}) STORED)"
    )
    db.execute("CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv)")
    db.execute("CREATE INDEX search_docs_dated ON search_docs (dated)")
    db.execute("CREATE INDEX search_docs_source ON search_docs (source, delivered)")
    db.execute(
        "CREATE TABLE watch_matches (watchlist text NOT NULL, article_id text NOT NULL, story_id text NOT NULL,"
        " source text NOT NULL, matched bigint NOT NULL, terms text NOT NULL, mentions integer NOT NULL,"
        " seen_in text NOT NULL, PRIMARY KEY (watchlist, article_id))"
    )
    db.execute("CREATE INDEX watch_matches_matched ON watch_matches (matched)")
    db.execute(
        "CREATE TABLE alerts (watchlist text NOT NULL, story_id text NOT NULL, article_id text NOT NULL,"
        " payload text NOT NULL, created bigint NOT NULL, attempts integer NOT NULL DEFAULT 0,"
        " next_at bigint NOT NULL, sent bigint, given_up bigint, error text, PRIMARY KEY (watchlist, story_id))"
    )
    db.execute("CREATE INDEX alerts_due ON alerts (next_at) WHERE sent IS NULL AND given_up IS NULL")


def _tsquery_word(word: QueryWord) -> str:
    """A Cyrillic word in every form as tsquery text: the forms are folded letters and digits, an
    apostrophe splitting one into a phrase as the parser splits the text."""
    lexemes = []
    for form in sorted(word.forms):
        parts = [part for part in form.split("'") if part]
        lexemes.append(" <-> ".join(f"'{part}'" for part in parts) if len(parts) > 1 else f"'{parts[0]}'")
    return " | ".join(f"({lexeme})" for lexeme in lexemes)


def _search_condition(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The query's words as one tsquery: Cyrillic ones in every form, the others stemmed."""
    parts, params = [], {}
    for index, word in enumerate(query.words):
        if word.cyrillic:
            parts.append(f"%(w{index})s::tsquery")
            params[f"w{index}"] = _tsquery_word(word)
        else:
            parts.append(f"(plainto_tsquery('simple', %(w{index})s) || plainto_tsquery('english', %(w{index})s))")
            params[f"w{index}"] = word.written
    return "d.tsv @@ (" + " && ".join(parts) + ")", params


MIGRATIONS: list[Callable[[psycopg.Connection], None]] = [_v0_to_v1, _v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5]
SCHEMA_VERSION = len(MIGRATIONS)


def _connect(url: str, where: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise StateError(f"cannot connect to {where}: {_reason(exc)}") from None


def _migrate(connection: psycopg.Connection, where: str) -> None:
    """Bring the schema up to date. Nearly always it is: one autocommitted SELECT says so. Only
    when it is not (or the table is missing) is the migration lock taken and the version read again."""
    try:
        try:
            row = connection.execute("SELECT version FROM sources_crawler_schema").fetchone()
            if row is not None and row[0] == SCHEMA_VERSION:
                return
        except psycopg.errors.UndefinedTable:
            pass  # a new database: created below
        with connection.transaction():
            _migrate_locked(connection, where)
    except psycopg.Error as exc:
        raise StateError(f"the state database {where} cannot be used ({_reason(exc)})") from None


def _migrate_locked(db: psycopg.Connection, where: str) -> None:
    db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
    db.execute("CREATE TABLE IF NOT EXISTS sources_crawler_schema (version integer NOT NULL)")
    row = db.execute("SELECT version FROM sources_crawler_schema").fetchone()
    version = row[0] if row else 0
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{where} was written by a newer sources-crawler (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade, or point STATE_URL elsewhere"
        )
    for step in MIGRATIONS[version:]:
        step(db)
    if row is None:
        db.execute("INSERT INTO sources_crawler_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
    else:
        db.execute("UPDATE sources_crawler_schema SET version=%s", (SCHEMA_VERSION,))


class PostgresStore:
    """The StateStore protocol on PostgreSQL, plus the lease, claims and shard results."""

    threadsafe = True

    def __init__(self, url: str, max_connections: int = 2):
        self.url = url
        self.where = server_name(url)
        # The schema is checked (and brought up to date) on a plain connection first: it fails
        # at once when the server refuses, where the pool would keep retrying until its timeout.
        # The pool opens its own connection meanwhile.
        first = _connect(url, self.where)
        try:
            self.pool = ConnectionPool(
                url, min_size=1, max_size=max_connections, kwargs={"autocommit": True}, open=False,
                name="sources-crawler-state",
            )  # fmt: skip
            self.pool.open(wait=False)
            _migrate(first, self.where)
        except BaseException:
            with contextlib.suppress(AttributeError):
                self.pool.close()
            raise
        finally:
            first.close()

    @classmethod
    def check(cls, url: str) -> None:
        """Connect and bring the schema up to date, holding no pool (a crawl's preflight)."""
        where = server_name(url)
        connection = _connect(url, where)
        try:
            _migrate(connection, where)
        finally:
            connection.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's and the pool's errors as the StateError every caller handles (exit 66)."""
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            raise StateError(f"the state database {self.where} cannot be used ({_reason(exc)})") from None

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        with self._errors(), self.pool.connection(timeout=30) as conn, conn.transaction():
            yield conn

    @contextmanager
    def _statement(self) -> Iterator[psycopg.Connection]:
        """A connection for one statement, atomic on its own: no transaction around it
        (connections are in autocommit mode), so one round trip instead of three (BEGIN, the
        statement, COMMIT). A remote database's latency is paid per round trip."""
        with self._errors(), self.pool.connection(timeout=30) as conn:
            yield conn

    def try_session_lock(self, name: str) -> SessionLock | None:
        """A session advisory lock on ``name``, on a connection held for it until released; None
        (and the connection back in the pool) while another session holds it. The server drops
        the lock with the connection, however its holder ends."""
        with self._errors():
            conn = self.pool.getconn(timeout=30)
            try:
                query = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
                taken = bool(conn.execute(query, (name,)).fetchone()[0])
            except BaseException:
                self.pool.putconn(conn)
                raise
            if taken:
                return SessionLock(self, conn)
            self.pool.putconn(conn)
            return None

    @property
    def schema_version(self) -> int:
        with self._statement() as db:
            return db.execute("SELECT version FROM sources_crawler_schema").fetchone()[0]

    def close(self) -> None:
        self.pool.close()

    # --- translation cache ------------------------------------------------------

    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with self._statement() as db:  # one statement, committed on its own: one round trip
            rows = db.execute(
                "UPDATE translation_cache SET used=%s WHERE key = ANY(%s) RETURNING key, text_en",
                (int(time.time()), keys),
            ).fetchall()
        return {bytes(key): text for key, text in rows}

    def cache_translations(self, entries: Iterable[tuple[bytes, str]]) -> None:
        now = int(time.time())
        rows = [(key, text, now, now) for key, text in entries]
        if not rows:
            return
        with self._tx() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO translation_cache (key, text_en, created, used) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET text_en=excluded.text_en, used=excluded.used",
                rows,
            )

    # --- discovery documents, URLs, articles ----------------------------------------------

    def documents(self, urls: list[str]) -> dict[str, DocumentRecord]:
        with self._statement() as db:
            rows = db.execute(
                f"SELECT {', '.join(sql.DOCUMENT_COLUMNS)} FROM discovery WHERE url = ANY(%s)",
                (list(dict.fromkeys(urls)),),
            ).fetchall()
        return {row[0]: shared.document_record(row, lambda value: value) for row in rows}

    def frontier(self, sources: list[str]) -> list[FrontierEntry]:
        with self._statement() as db:
            rows = db.execute(
                f"SELECT {', '.join(sql.FRONTIER_COLUMNS)} FROM frontier WHERE source = ANY(%s)", (list(sources),)
            ).fetchall()
        return [FrontierEntry.from_row(dict(zip(sql.FRONTIER_COLUMNS, row, strict=True))) for row in rows]

    def untranslated(self) -> dict[str, int]:
        with self._statement() as db:
            return {source: int(count) for source, count in db.execute(sql.UNTRANSLATED_BY_SOURCE).fetchall()}

    def add_to_frontier(self, entries: list[FrontierEntry]) -> None:
        with self._tx() as db, db.cursor() as cursor:
            cursor.executemany(sql.for_postgres(sql.FRONTIER_ADD), [entry.row() for entry in entries])

    def known_url(self, key: str) -> shared.KnownUrl | None:
        return self.known_urls([key]).get(key)

    def known_urls(self, keys: list[str]) -> dict[str, shared.KnownUrl]:
        with self._statement() as db:
            rows = db.execute(
                "SELECT key, article_id, markers, failures FROM urls WHERE key = ANY(%s)", (list(dict.fromkeys(keys)),)
            ).fetchall()
        return dict(shared.known_url(row, lambda value: value) for row in rows)

    def article(self, article_id: str) -> dict[str, Any] | None:
        return self.articles([article_id]).get(article_id)

    def articles(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self._statement() as db:
            rows = db.execute(
                f"SELECT id, {', '.join(shared.ARTICLE_FIELDS)} FROM articles WHERE id = ANY(%s)",
                (list(dict.fromkeys(article_ids)),),
            ).fetchall()
        return {row[0]: dict(zip(shared.ARTICLE_FIELDS, row[1:], strict=True)) for row in rows}

    def article_with_text(self, source: str, content_hash: str) -> str | None:
        with self._statement() as db:
            row = db.execute(_ARTICLE_WITH_TEXT, {"source": source, "content_hash": content_hash}).fetchone()
        return row[0] if row else None

    def retry_records(self, source: str, limit: int) -> list[tuple[str, list[str]]]:
        with self._statement() as db:
            rows = db.execute(
                "SELECT a.retry_record, COALESCE(array_agg(u.key) FILTER (WHERE u.key IS NOT NULL), '{}')"
                " FROM articles a LEFT JOIN urls u ON u.article_id = a.id"
                " WHERE a.source=%s AND a.retry_record IS NOT NULL"
                " GROUP BY a.id, a.retry_record, a.last_seen ORDER BY a.last_seen DESC LIMIT %s",
                (source, limit),
            ).fetchall()
        return [(record, list(keys)) for record, keys in rows]

    def due_checks(self, now: float, limit: int) -> list[shared.DueCheck]:
        with self._statement() as db:
            rows = db.execute(sql.for_postgres(sql.EVIDENCE_DUE), {"now": now, "limit": limit}).fetchall()
        return [shared.DueCheck.from_row(row) for row in rows]

    def evidence_records(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self._statement() as db:
            rows = db.execute(
                "SELECT id, record FROM evidence WHERE id = ANY(%s)", (list(dict.fromkeys(article_ids)),)
            ).fetchall()
        return {row[0]: record for row in rows if (record := shared.unpack_record(row[1])) is not None}

    # --- the analyst: search, feeds, alerts --------------------------------------------

    def search_candidates(self, query: SearchQuery, offset: int, limit: int) -> list[dict[str, Any]]:
        condition, params = _search_condition(query)
        where = [condition]
        if query.since is not None:
            where.append("d.dated >= %(since)s")
            params["since"] = int(query.since)
        if query.story:
            where.append("d.story_id = %(story)s")
            params["story"] = query.story
        if query.sources:
            where.append("d.source = ANY(%(sources)s)")
            params["sources"] = list(query.sources)
        if query.languages:
            where.append("d.language = ANY(%(languages)s)")
            params["languages"] = list(query.languages)
        statement = (
            f"SELECT {sql.SEARCH_FIELDS} FROM search_docs d WHERE {' AND '.join(where)}"
            " ORDER BY d.dated DESC, d.article_id DESC LIMIT %(limit)s OFFSET %(offset)s"
        )
        with self._statement() as db:
            rows = db.execute(statement, {**params, "limit": limit, "offset": offset}).fetchall()
        return [dict(zip(sql.SEARCH_COLUMNS, row, strict=True)) for row in rows]

    def feed_entries(self, kind: str, name: str, limit: int) -> list[dict[str, Any]]:
        with self._statement() as db:
            rows = db.execute(_FEEDS[kind], {"name": name, "limit": limit}).fetchall()
        return [dict(zip(sql.SEARCH_COLUMNS, row, strict=True)) for row in rows]

    def matches_since(self, since: float) -> list[dict[str, Any]]:
        with self._statement() as db:
            rows = db.execute(_MATCHES_SINCE, {"since": int(since)}).fetchall()
        return [dict(zip(shared.MATCH_FIELDS, row, strict=True)) for row in rows]

    def due_alerts(self, now: float, limit: int) -> list[shared.DueAlert]:
        with self._statement() as db:
            rows = db.execute(_ALERTS_DUE, {"now": int(now), "limit": limit}).fetchall()
        return [shared.DueAlert.from_row(row) for row in rows]

    def record_alerts(self, outcomes: list[dict[str, Any]]) -> None:
        with self._tx() as db, db.cursor() as cursor:
            cursor.executemany(_ALERT_SENT, [o for o in outcomes if o.get("sent")])
            cursor.executemany(_ALERT_FAILED, [o for o in outcomes if not o.get("sent")])

    def waiting_alerts(self) -> dict[str, tuple[int, int]]:
        with self._statement() as db:
            rows = db.execute(sql.ALERTS_WAITING).fetchall()
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    def site_rules(self) -> dict[str, list[list[Any]]]:
        with self._statement() as db:
            return dict(db.execute(sql.SITE_RULES).fetchall())

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        query = "SELECT id, story_id FROM articles WHERE story_id IS NOT NULL AND id = ANY(%s)"
        return self._pairs(query, list(article_ids))

    def linked_stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        return self._pairs("SELECT article_id, story_id FROM story_links WHERE article_id = ANY(%s)", list(article_ids))

    def _pairs(self, query: str, values: list[Any]) -> dict[Any, Any]:
        """The two columns ``query`` selects for ``values``, as a dict."""
        with self._statement() as db:
            return dict(db.execute(query, (values,)).fetchall())

    def story_candidates(self, keys: list[int], limit: int) -> list[tuple[str, str, bytes, bytes]]:
        with self._statement() as db:
            rows = db.execute(
                "SELECT p.article_id, p.story_id, p.minhash, p.numbers FROM story_prints p JOIN"
                " (SELECT ref, COUNT(*) AS shared FROM story_bands WHERE key = ANY(%s) GROUP BY ref"
                " ORDER BY shared DESC LIMIT %s) c ON c.ref = p.ref ORDER BY c.shared DESC",
                (list(keys), limit),
            ).fetchall()
        return [(row[0], row[1], bytes(row[2]), bytes(row[3])) for row in rows]

    def apply(self, batch: dict[str, Any]) -> None:
        """Apply one run's changes (see runstate.Batch.payload) in a single transaction."""
        now = int(batch["now"])
        with self._tx() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO articles (id, source, canonical_url, first_seen, last_seen, content_hash, revision,"
                " translation_status, retry_record, title_hash, story_id) VALUES (%(id)s, %(source)s,"
                " %(canonical_url)s, %(now)s, %(now)s, %(content_hash)s, %(revision)s, %(translation_status)s,"
                " %(retry_record)s, %(title_hash)s, %(story_id)s) ON CONFLICT (id) DO UPDATE SET"
                " source=excluded.source, canonical_url=excluded.canonical_url, last_seen=excluded.last_seen,"
                " content_hash=excluded.content_hash, revision=excluded.revision,"
                " translation_status=excluded.translation_status, retry_record=excluded.retry_record,"
                " title_hash=excluded.title_hash, story_id=COALESCE(articles.story_id, excluded.story_id)",
                [{"title_hash": None, "story_id": None, **article, "now": now} for article in batch["articles"]],
            )
            self._apply_stories(cursor, batch, now)
            if batch["touched"]:
                cursor.execute("UPDATE articles SET last_seen=%s WHERE id = ANY(%s)", (now, list(batch["touched"])))
            cursor.executemany(sql.for_postgres(sql.EVIDENCE_UPSERT), shared.evidence_rows(batch, now))
            cursor.executemany(sql.for_postgres(sql.EVIDENCE_CHECKED), shared.check_rows(batch, now))
            records = watch_rows.delivered_records(batch)
            cursor.executemany(_SEARCH_UPSERT, watch_rows.search_rows(records, now))
            cursor.executemany(_WATCH_MATCH_UPSERT, watch_rows.match_rows(records, now))
            cursor.executemany(_ALERT_ADD, watch_rows.alert_rows(batch, now))
            cursor.executemany(
                "INSERT INTO urls (key, article_id, markers, last_seen, failures) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO UPDATE SET article_id=excluded.article_id,"
                " markers=urls.markers || excluded.markers, last_seen=excluded.last_seen,"
                " failures=excluded.failures",
                [(u[0], u[1], Jsonb(u[2] or {}), now, u[3] if len(u) > 3 else 0) for u in batch["urls"]],
            )
            cursor.executemany(
                sql.for_postgres(sql.DOCUMENT_UPSERT),
                [{**row, "children": _jsonb(row["children"]), "cursor": _jsonb(row["cursor"])}
                 for row in shared.document_rows(batch, now)],
            )  # fmt: skip
            cursor.executemany(
                sql.for_postgres(sql.FRONTIER_DELETE), [{"key": key} for key in batch.get("frontier_done", [])]
            )
            cursor.executemany(sql.for_postgres(sql.FRONTIER_UPSERT), batch.get("frontier_failed", []))
            cursor.executemany(
                "INSERT INTO site_rules (host, rules, updated) VALUES (%s, %s, %s)"
                " ON CONFLICT (host) DO UPDATE SET rules=excluded.rules, updated=excluded.updated",
                [(host, Jsonb(rules), now) for host, rules in batch.get("site_rules", [])],
            )
            if shard := batch.get("shard"):
                cursor.execute(
                    "INSERT INTO shard_results (run_id, shard, files, committed, updated)"
                    " VALUES (%s, %s, %s, true, %s) ON CONFLICT (run_id, shard) DO UPDATE SET"
                    f" files={_MERGED_FILES}, committed=true, updated=excluded.updated",
                    (shard["run"], shard["shard"], Jsonb(shard["files"]), time.time()),
                )

    @staticmethod
    def _apply_stories(cursor: psycopg.Cursor[Any], batch: dict[str, Any], now: int) -> None:
        prints = [(shared.story_ref(article_id), article_id, story_id, minhash, numbers, keys)
                  for article_id, story_id, minhash, numbers, keys
                  in (shared.decode_print(entry) for entry in batch.get("stories", []))]  # fmt: skip
        if prints:
            cursor.execute("DELETE FROM story_bands WHERE ref = ANY(%s)", ([p[0] for p in prints],))
        cursor.executemany(
            "INSERT INTO story_prints (ref, article_id, story_id, minhash, numbers, written)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (ref) DO UPDATE SET article_id=excluded.article_id,"
            " story_id=excluded.story_id, minhash=excluded.minhash, numbers=excluded.numbers, written=excluded.written",
            [
                (ref, article_id, story_id, minhash, numbers, now)
                for ref, article_id, story_id, minhash, numbers, _ in prints
            ],
        )
        cursor.executemany(
            "INSERT INTO story_bands (key, ref) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(key, p[0]) for p in prints for key in p[5]],
        )
        links = batch.get("story_links", [])
        cursor.executemany(_STORY_LINK_UPSERT, [{"article_id": a, "story_id": s, "now": now} for a, s in links])

    # --- two-phase delivery ---------------------------------------------------------

    def write_delivery(self, run_id: str, payload: str, files: list[dict[str, Any]], complete: bool) -> None:
        with self._statement() as db:
            values = {"run_id": run_id, "payload": payload, "files": Jsonb(files), "complete": complete}
            db.execute(_DELIVERY_WRITE, values)

    def deliveries(self) -> list[tuple[str, str, list[dict[str, Any]], bool]]:
        with self._statement() as db:
            rows = db.execute(sql.DELIVERIES).fetchall()
        return [(run_id, payload, list(files), bool(complete)) for run_id, payload, files, complete in rows]

    def drop_delivery(self, run_id: str) -> None:
        with self._statement() as db:
            db.execute(_DELIVERY_DROP, {"run_id": run_id})

    # --- runs and housekeeping --------------------------------------------------------

    def start_run(self, run_id: str, started: int) -> None:
        with self._statement() as db:
            db.execute(_RUN_START, {"run_id": run_id, "started": started})

    def finish_run(self, run_id: str, finished: int, summary: str) -> None:
        with self._statement() as db:
            db.execute(_RUN_FINISH, {"finished": finished, "summary": Jsonb(json.loads(summary)), "run_id": run_id})

    def last_summary(self) -> dict[str, Any] | None:
        with self._statement() as db:
            row = db.execute(sql.LAST_SUMMARY).fetchone()
        return row[0] if row else None

    def run_history(self, since: float) -> list[tuple[float, dict[str, Any]]]:
        with self._statement() as db:
            rows = db.execute(_RUN_HISTORY, {"since": int(since)}).fetchall()
        return [(float(finished), summary) for finished, summary in rows if isinstance(summary, dict)]

    def prune(self, older_than: int) -> dict[str, int]:
        # One statement, atomic on its own: one round trip where a statement each took twelve.
        with self._statement() as db:
            row = db.execute(_PRUNE_ALL, {"older_than": older_than}).fetchone()
        return dict(zip(_PRUNED, row, strict=True))

    # --- runs over several processes ---------------------------------------------------

    def take_lease(
        self, run_id: str, stale_after: float, plan: dict[str, Any] | None = None, crawl_gone: bool = False
    ) -> Lease | None:
        """The run lease for ``run_id``, or None (with nothing changed) while another run's is fresh.

        ``crawl_gone``: the caller holds the session lock a single-process crawl holds while it
        runs, so a lease such a crawl left behind belongs to a dead process whatever its heartbeat."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO run_lease (name, run_id, started, heartbeat, finished) VALUES (%s, '', 0, 0, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (_LEASE,),
            )
            row = db.execute(
                "SELECT run_id, started, heartbeat, finished, plan, status FROM run_lease WHERE name=%s FOR UPDATE",
                (_LEASE,),
            ).fetchone()
            held = Lease(*row)
            dead_crawl = crawl_gone and (held.plan or {}).get("kind") == "crawl"
            if held.active(stale_after, now) and held.run_id != run_id and not dead_crawl:
                return None
            db.execute(
                "UPDATE run_lease SET run_id=%s, started=%s, heartbeat=%s, finished=NULL, plan=%s, status=NULL"
                " WHERE name=%s",
                (run_id, now, now, Jsonb(plan) if plan is not None else None, _LEASE),
            )
        return Lease(run_id, now, now, None, plan, None)

    def lease(self) -> Lease | None:
        with self._statement() as db:
            row = db.execute(
                "SELECT run_id, started, heartbeat, finished, plan, status FROM run_lease WHERE name=%s", (_LEASE,)
            ).fetchone()
        return Lease(*row) if row and row[0] else None

    def heartbeat(self, run_id: str) -> bool:
        """Keep ``run_id``'s lease fresh; False when the run no longer holds it."""
        with self._statement() as db:
            cursor = db.execute(
                "UPDATE run_lease SET heartbeat=%s WHERE name=%s AND run_id=%s AND finished IS NULL",
                (time.time(), _LEASE, run_id),
            )
            return cursor.rowcount == 1

    def end_lease(self, run_id: str, status: int | None = None) -> None:
        """The run is over (with its combined exit status, for whoever waits on it)."""
        with self._tx() as db:
            db.execute(
                "UPDATE run_lease SET finished=%s, status=%s WHERE name=%s AND run_id=%s",
                (time.time(), status, _LEASE, run_id),
            )
            db.execute("DELETE FROM claims WHERE run_id = %s", (run_id,))  # its claims end with it

    def claim(self, run_id: str, name: str, shard: int) -> bool:
        """Whether ``shard`` owns ``name`` in this run: it claimed it first, now or in an earlier attempt."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO claims (run_id, name, shard) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (run_id, name, shard),
            )
            row = db.execute("SELECT shard FROM claims WHERE run_id=%s AND name=%s", (run_id, name)).fetchone()
        return row is not None and row[0] == shard

    def record_shard(
        self, run_id: str, shard: int, *, status: int | None = None, summary: dict[str, Any] | None = None,
        files: list[str] | None = None,
    ) -> None:  # fmt: skip
        """What one shard's crawl reported (its summary and files), then how its process ended."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO shard_results (run_id, shard, status, summary, files, updated)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, shard) DO UPDATE SET"
                " status=COALESCE(excluded.status, shard_results.status),"
                " summary=COALESCE(excluded.summary, shard_results.summary),"
                f" files=CASE WHEN %s THEN {_MERGED_FILES} ELSE shard_results.files END, updated=excluded.updated",
                (
                    run_id, shard, status, Jsonb(summary) if summary is not None else None, Jsonb(files or []),
                    time.time(), files is not None,
                ),
            )  # fmt: skip

    def shard_results(self, run_id: str) -> dict[int, ShardResult]:
        with self._statement() as db:
            rows = db.execute(
                "SELECT shard, status, summary, files, committed FROM shard_results WHERE run_id=%s", (run_id,)
            ).fetchall()
        return {row[0]: ShardResult(row[1], row[2], list(row[3] or []), bool(row[4])) for row in rows}


@dataclass(frozen=True)
class ShardResult:
    """What one shard of a run reported: its crawl's exit status, summary and files, and
    whether its deliveries were committed (then a retry has nothing left to do)."""

    status: int | None
    summary: dict[str, Any] | None
    files: list[str]
    committed: bool


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_only(url: str, read: Callable[[PostgresStore], Any], default: Any) -> Any:
    """``read(store)``, or ``default`` when the server cannot be reached (list, health).

    Reads change nothing, but connecting brings the schema up to date, as every process does."""
    try:
        store = PostgresStore(url, max_connections=1)
    except StateError:
        return default
    try:
        return read(store)
    except StateError:
        return default
    finally:
        store.close()
