"""SQL that the SQLite and PostgreSQL stores run alike: written once, with ``:name`` parameters
(SQLite's), which ``for_postgres`` turns into psycopg's ``%(name)s``.

Only statements whose text is the same on both belong here; schema, bulk ``IN`` lookups and
anything using a dialect's own functions stay in each store.
"""

from __future__ import annotations

import re

__all__ = [
    "ALERTS_DUE",
    "ALERTS_WAITING",
    "ALERT_ADD",
    "ALERT_FAILED",
    "ALERT_SENT",
    "ARTICLE_WITH_TEXT",
    "DELIVERIES",
    "DELIVERY_DROP",
    "DELIVERY_WRITE",
    "DOCUMENT_COLUMNS",
    "DOCUMENT_UPSERT",
    "EVIDENCE_CHECKED",
    "EVIDENCE_COLUMNS",
    "EVIDENCE_DUE",
    "EVIDENCE_UPSERT",
    "FEED_OF_SOURCE",
    "FEED_OF_WATCHLIST",
    "FRONTIER_ADD",
    "FRONTIER_COLUMNS",
    "FRONTIER_DELETE",
    "FRONTIER_PRUNE",
    "FRONTIER_UPSERT",
    "LAST_SUMMARY",
    "MATCHES_SINCE",
    "PRUNE",
    "RUN_FINISH",
    "RUN_HISTORY",
    "RUN_START",
    "SEARCH_COLUMNS",
    "SEARCH_FIELDS",
    "SEARCH_UPSERT",
    "SITE_RULES",
    "STORY_LINK_UPSERT",
    "TEXT_COLUMNS",
    "UNTRANSLATED_BY_SOURCE",
    "WATCH_MATCH_UPSERT",
    "for_postgres",
]

# The retry frontier (crawler/frontier/book.py): one row per owed article page.
FRONTIER_COLUMNS = (
    "key", "url", "source", "via_kind", "via_url", "entry", "marker", "dated", "reason", "attempts",
    "first_seen", "first_failed", "next_at",
)  # fmt: skip
_VALUES = ", ".join(f":{column}" for column in FRONTIER_COLUMNS)
FRONTIER_ADD = f"INSERT INTO frontier ({', '.join(FRONTIER_COLUMNS)}) VALUES ({_VALUES}) ON CONFLICT (key) DO NOTHING"
FRONTIER_UPSERT = (
    f"INSERT INTO frontier ({', '.join(FRONTIER_COLUMNS)}) VALUES ({_VALUES}) ON CONFLICT (key) DO UPDATE SET"
    " reason=excluded.reason, attempts=excluded.attempts, first_failed=excluded.first_failed,"
    " next_at=excluded.next_at"
)
FRONTIER_DELETE = "DELETE FROM frontier WHERE key = :key"
# Owed this long and never delivered: the source is gone from the file, or the page with it.
FRONTIER_PRUNE = "DELETE FROM frontier WHERE first_seen < :older_than"

# A discovery document's record (crawler/frontier/revisit.py's DocumentRecord).
DOCUMENT_COLUMNS = (
    "url", "etag", "last_modified", "last_fetched", "complete", "changed", "children", "digest", "listed", "cursor",
)  # fmt: skip
DOCUMENT_UPSERT = (
    f"INSERT INTO discovery ({', '.join(DOCUMENT_COLUMNS)})"
    f" VALUES ({', '.join(f':{column}' for column in DOCUMENT_COLUMNS)}) ON CONFLICT (url) DO UPDATE SET"
    + ",".join(f" {column}=excluded.{column}" for column in DOCUMENT_COLUMNS[1:])
)

# What the state keeps of each delivered article as evidence (crawler/evidence): the URL to check
# again and its validators, when the next check is due, a removal suspected (the first check's
# evidence, JSON) or confirmed (when), and the last delivered record (compressed JSON).
EVIDENCE_COLUMNS = (
    "id", "source", "url", "etag", "last_modified", "next_check", "gone", "removed", "record", "updated",
)  # fmt: skip
# A record delivered without fetching its page (a translation retried from the state) keeps
# the validators of the last answer.
_KEPT_UNLESS_GIVEN = ("etag", "last_modified")
EVIDENCE_UPSERT = (
    f"INSERT INTO evidence ({', '.join(EVIDENCE_COLUMNS)})"
    f" VALUES ({', '.join(f':{column}' for column in EVIDENCE_COLUMNS)}) ON CONFLICT (id) DO UPDATE SET"
    + ",".join(
        f" {column}=COALESCE(excluded.{column}, evidence.{column})"
        if column in _KEPT_UNLESS_GIVEN
        else f" {column}=excluded.{column}"
        for column in EVIDENCE_COLUMNS[1:]
    )
)
# A check that delivered nothing: its validators (kept when the answer had none), what is due next.
EVIDENCE_CHECKED = (
    "UPDATE evidence SET etag=COALESCE(:etag, etag), last_modified=COALESCE(:last_modified, last_modified),"
    " next_check=:next_check, gone=:gone, removed=:removed, updated=:now WHERE id=:id"
)
# The checks due now, the longest overdue first, at most :limit per source.
EVIDENCE_DUE = (
    "SELECT e.id, e.source, e.url, e.etag, e.last_modified, e.next_check, e.gone, e.removed, a.first_seen,"
    " a.revision FROM (SELECT id, source, url, etag, last_modified, next_check, gone, removed,"
    " ROW_NUMBER() OVER (PARTITION BY source ORDER BY next_check) AS n FROM evidence WHERE next_check <= :now) e"
    " JOIN articles a ON a.id = e.id WHERE e.n <= :limit ORDER BY e.next_check"
)

# Articles delivered untranslated (failed or deferred) that a later run translates, per source.
UNTRANSLATED_BY_SOURCE = "SELECT source, COUNT(*) FROM articles WHERE retry_record IS NOT NULL GROUP BY source"
# The first delivered article of a source with exactly this text (an article that moved).
ARTICLE_WITH_TEXT = (
    "SELECT id FROM articles WHERE source=:source AND content_hash=:content_hash ORDER BY first_seen LIMIT 1"
)
SITE_RULES = "SELECT host, rules FROM site_rules"

# Deliveries (crawler/state/delivery.py), oldest run first, and runs.
DELIVERIES = "SELECT run_id, payload, files, complete FROM deliveries ORDER BY run_id"
DELIVERY_WRITE = (
    "INSERT INTO deliveries (run_id, payload, files, complete) VALUES (:run_id, :payload, :files, :complete)"
    " ON CONFLICT (run_id) DO UPDATE SET payload=excluded.payload, files=excluded.files, complete=excluded.complete"
)
# An edition of a story met again (crawler/stories): its link to the story is kept fresh.
STORY_LINK_UPSERT = (
    "INSERT INTO story_links (article_id, story_id, last_seen) VALUES (:article_id, :story_id, :now)"
    " ON CONFLICT (article_id) DO UPDATE SET last_seen=excluded.last_seen"
)
DELIVERY_DROP = "DELETE FROM deliveries WHERE run_id=:run_id"
RUN_START = (
    "INSERT INTO runs (run_id, started) VALUES (:run_id, :started)"
    " ON CONFLICT (run_id) DO UPDATE SET started=excluded.started, finished=NULL, summary=NULL"
)
RUN_FINISH = "UPDATE runs SET finished=:finished, summary=:summary WHERE run_id=:run_id"
LAST_SUMMARY = "SELECT summary FROM runs WHERE summary IS NOT NULL ORDER BY finished DESC LIMIT 1"
RUN_HISTORY = "SELECT finished, summary FROM runs WHERE summary IS NOT NULL AND finished >= :since ORDER BY finished"

# The search index (crawler/state/watch_rows.py): one row per delivered article, its last record's
# texts; SQLite indexes them with FTS5, PostgreSQL with a tsvector column, each its own way.
TEXT_COLUMNS = ("title", "summary", "text", "title_en", "summary_en", "text_en")
SEARCH_COLUMNS = (
    "article_id", "source", "language", "url", "story_id", "published", "dated", "delivered", "revision", "change",
    *TEXT_COLUMNS,
)  # fmt: skip
SEARCH_UPSERT = (
    f"INSERT INTO search_docs ({', '.join(SEARCH_COLUMNS)})"
    f" VALUES ({', '.join(f':{column}' for column in SEARCH_COLUMNS)}) ON CONFLICT (article_id) DO UPDATE SET"
    + ",".join(f" {column}=excluded.{column}" for column in SEARCH_COLUMNS[1:])
)
SEARCH_FIELDS = "d." + ", d.".join(SEARCH_COLUMNS)
# The newest entries of a feed (crawler/output/atom_feeds.py): a source's, a watchlist's.
FEED_OF_SOURCE = (
    f"SELECT {SEARCH_FIELDS} FROM search_docs d WHERE d.source = :name ORDER BY d.delivered DESC, d.dated DESC"
    " LIMIT :limit"
)
FEED_OF_WATCHLIST = (
    f"SELECT {SEARCH_FIELDS} FROM search_docs d JOIN watch_matches m ON m.article_id = d.article_id"
    " WHERE m.watchlist = :name ORDER BY d.delivered DESC, d.dated DESC LIMIT :limit"
)

# Watchlist matches and the alerts they owe (crawler/output/alert_sender.py): one alert per
# watchlist and story, ever; sent, or retried at ``next_at`` until it is, or given up.
WATCH_MATCH_UPSERT = (
    "INSERT INTO watch_matches (watchlist, article_id, story_id, source, matched, terms, mentions, seen_in)"
    " VALUES (:watchlist, :article_id, :story_id, :source, :matched, :terms, :mentions, :seen_in)"
    " ON CONFLICT (watchlist, article_id) DO UPDATE SET story_id=excluded.story_id, matched=excluded.matched,"
    " terms=excluded.terms, mentions=excluded.mentions, seen_in=excluded.seen_in"
)
ALERT_ADD = (
    "INSERT INTO alerts (watchlist, story_id, article_id, payload, created, attempts, next_at)"
    " VALUES (:watchlist, :story_id, :article_id, :payload, :created, 0, :created)"
    " ON CONFLICT (watchlist, story_id) DO NOTHING"
)
ALERTS_DUE = (
    "SELECT watchlist, story_id, payload, attempts, created FROM alerts"
    " WHERE sent IS NULL AND given_up IS NULL AND next_at <= :now ORDER BY created LIMIT :limit"
)
ALERT_SENT = (
    "UPDATE alerts SET sent=:now, attempts=:attempts, error=NULL WHERE watchlist=:watchlist AND story_id=:story_id"
)
ALERT_FAILED = (
    "UPDATE alerts SET attempts=:attempts, next_at=:next_at, error=:error, given_up=:given_up"
    " WHERE watchlist=:watchlist AND story_id=:story_id"
)
ALERTS_WAITING = (
    "SELECT watchlist, COUNT(*), MIN(created) FROM alerts WHERE sent IS NULL AND given_up IS NULL GROUP BY watchlist"
)
MATCHES_SINCE = (
    "SELECT m.watchlist, m.matched, m.source, m.article_id, m.story_id, m.terms, m.mentions, m.seen_in,"
    " d.title, d.title_en, d.url, d.change, a.article_id, a.sent, a.attempts, a.error, a.given_up"
    " FROM watch_matches m LEFT JOIN search_docs d ON d.article_id = m.article_id"
    " LEFT JOIN alerts a ON a.watchlist = m.watchlist AND a.story_id = m.story_id"
    " WHERE m.matched >= :since ORDER BY m.matched DESC, m.watchlist, m.article_id"
)

# Pruning (STATE_RETENTION_DAYS): what was last seen before :older_than, by the name the run
# summary counts it under. Story bands go first, and each store drops them its own way.
PRUNE = {
    "story_prints": "DELETE FROM story_prints WHERE written < :older_than",
    "story_links": "DELETE FROM story_links WHERE last_seen < :older_than",
    # Before their articles, and kept while the article is: an article its feed lists every day
    # keeps the text an announced edit is compared with.
    "evidence": (
        "DELETE FROM evidence WHERE updated < :older_than"
        " AND id NOT IN (SELECT id FROM articles WHERE last_seen >= :older_than)"
    ),
    # Before their articles: an article's search row and matches go with it.
    "search": "DELETE FROM search_docs WHERE article_id IN (SELECT id FROM articles WHERE last_seen < :older_than)",
    "watch_matches": (
        "DELETE FROM watch_matches WHERE article_id IN (SELECT id FROM articles WHERE last_seen < :older_than)"
    ),
    "alerts": "DELETE FROM alerts WHERE created < :older_than AND (sent IS NOT NULL OR given_up IS NOT NULL)",
    "articles": "DELETE FROM articles WHERE last_seen < :older_than",
    "urls": "DELETE FROM urls WHERE last_seen < :older_than",
    "discovery": "DELETE FROM discovery WHERE last_fetched < :older_than",
    "translations": "DELETE FROM translation_cache WHERE used < :older_than",
    "runs": "DELETE FROM runs WHERE started < :older_than",
    "site_rules": "DELETE FROM site_rules WHERE updated < :older_than",
    "frontier": FRONTIER_PRUNE,
}

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


def for_postgres(sql: str) -> str:
    """``:name`` → ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql)
