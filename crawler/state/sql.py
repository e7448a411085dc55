"""SQL that the SQLite and PostgreSQL stores run alike: written once, with ``:name`` parameters
(SQLite's), which ``for_postgres`` turns into psycopg's ``%(name)s``.

Only statements whose text is the same on both belong here; schema, bulk ``IN`` lookups and
anything using a dialect's own functions stay in each store.
"""

from __future__ import annotations

import re

__all__ = [
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
    "FRONTIER_ADD",
    "FRONTIER_COLUMNS",
    "FRONTIER_DELETE",
    "FRONTIER_PRUNE",
    "FRONTIER_UPSERT",
    "LAST_SUMMARY",
    "PRUNE",
    "RUN_FINISH",
    "RUN_HISTORY",
    "RUN_START",
    "SITE_RULES",
    "STORY_LINK_UPSERT",
    "UNTRANSLATED_BY_SOURCE",
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
