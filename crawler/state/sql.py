"""SQL that the SQLite and PostgreSQL stores run alike: written once, with ``:name`` parameters
(SQLite's), which ``for_postgres`` turns into psycopg's ``%(name)s``.

Only statements whose text is the same on both belong here; schema, bulk ``IN`` lookups and
anything using a dialect's own functions stay in each store.
"""

from __future__ import annotations

import re

__all__ = [
    "DOCUMENT_COLUMNS",
    "DOCUMENT_UPSERT",
    "FRONTIER_ADD",
    "FRONTIER_COLUMNS",
    "FRONTIER_DELETE",
    "FRONTIER_PRUNE",
    "FRONTIER_UPSERT",
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

# Articles delivered untranslated (failed or deferred) that a later run translates, per source.
UNTRANSLATED_BY_SOURCE = "SELECT source, COUNT(*) FROM articles WHERE retry_record IS NOT NULL GROUP BY source"

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


def for_postgres(sql: str) -> str:
    """``:name`` → ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql)
