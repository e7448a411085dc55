"""Rows and payloads both state backends read and write alike.

What ``article`` returns, how a story fingerprint is keyed and carried in a delivery
payload, and how a discovery document maps to its row: one home for each, so the
SQLite and PostgreSQL stores cannot drift apart on them."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crawler.frontier.revisit import DocumentRecord
from crawler.state.sql import DOCUMENT_COLUMNS, EVIDENCE_COLUMNS

__all__ = [
    "ARTICLE_FIELDS",
    "MATCH_FIELDS",
    "DueAlert",
    "DueCheck",
    "KnownUrl",
    "check_rows",
    "decode_print",
    "document_record",
    "document_rows",
    "encode_print",
    "encode_record",
    "evidence_rows",
    "known_url",
    "pack_record",
    "story_ref",
    "unpack_record",
]


# What ``StateStore.article`` returns for a delivered article, in this order (one home for
# the column list both stores select).
ARTICLE_FIELDS = ("content_hash", "revision", "translation_status", "first_seen", "title_hash", "source", "story_id")

# What the state knows of a URL key: (article id, or "" for a page that gave no article;
# {document: marker} of the documents that listed it; failed runs).
KnownUrl = tuple[str, dict[str, str], int]


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


def known_url(row: tuple[Any, ...], decode: Callable[[Any], Any]) -> tuple[str, KnownUrl]:
    """A ``urls`` row (key, article_id, markers, failures; markers read with ``decode``) as (key, knowledge)."""
    try:
        markers = decode(row[2]) if row[2] is not None else {}
    except ValueError:
        markers = {}
    return row[0], (row[1], markers if isinstance(markers, dict) else {}, int(row[3] or 0))


@dataclass(frozen=True, slots=True)
class DueCheck:
    """A delivered article whose check is due (crawler/evidence/schedule.py)."""

    id: str
    source: str
    url: str
    etag: str | None
    last_modified: str | None
    next_check: float
    gone: dict[str, Any] | None  # the first check that found it gone, while that is unconfirmed
    removed: float | None  # when its removal was confirmed
    first_seen: float
    revision: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> DueCheck:
        gone = row[6]
        if isinstance(gone, str):
            try:
                gone = json.loads(gone)
            except ValueError:
                gone = None
        return cls(str(row[0]), str(row[1]), str(row[2]), row[3], row[4], float(row[5]),
                   gone if isinstance(gone, dict) else None, None if row[7] is None else float(row[7]),
                   float(row[8]), int(row[9]))  # fmt: skip


def pack_record(record_json: str) -> bytes:
    """A delivered record as the state keeps it: its JSON, compressed (a third of the size)."""
    return zlib.compress(record_json.encode("utf-8"), 6)


def encode_record(record_json: str) -> str:
    """A record packed for a delivery payload (JSON): base64 of ``pack_record``."""
    return base64.b64encode(pack_record(record_json)).decode("ascii")


def unpack_record(blob: bytes | memoryview | None) -> dict[str, Any] | None:
    if blob is None:
        return None
    try:
        record = json.loads(zlib.decompress(bytes(blob)).decode("utf-8"))
    except (zlib.error, ValueError):
        return None
    return record if isinstance(record, dict) else None


def evidence_rows(batch: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """A run's delivered articles' evidence rows (``gone`` as JSON text, the record packed)."""
    rows = []
    for entry in batch.get("evidence", []):
        row = {column: entry.get(column) for column in EVIDENCE_COLUMNS}
        row["gone"] = json.dumps(entry["gone"]) if entry.get("gone") else None
        row["record"] = base64.b64decode(entry["record"])
        row["updated"] = now
        rows.append(row)
    return rows


def check_rows(batch: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """A run's checks that delivered nothing, as EVIDENCE_CHECKED parameters."""
    return [
        {"id": c["id"], "etag": c.get("etag"), "last_modified": c.get("last_modified"),
         "next_check": c.get("next_check"), "gone": json.dumps(c["gone"]) if c.get("gone") else None,
         "removed": c.get("removed"), "now": now}
        for c in batch.get("checks", [])
    ]  # fmt: skip


# The columns of sql.MATCHES_SINCE, by name: a match, its article, and its story's alert.
MATCH_FIELDS = (
    "watchlist", "matched", "source", "article_id", "story_id", "terms", "mentions", "seen_in", "title", "title_en",
    "url", "change", "alerted_article", "sent", "attempts", "error", "given_up",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An alert owed (sql.ALERTS_DUE): its watchlist and story, the JSON to post, its past attempts."""

    watchlist: str
    story_id: str
    payload: dict[str, Any]
    attempts: int
    created: int

    @classmethod
    def from_row(cls, row: Any) -> DueAlert:
        try:
            payload = json.loads(row[2])
        except (TypeError, ValueError):
            payload = {}
        return cls(str(row[0]), str(row[1]), payload if isinstance(payload, dict) else {}, int(row[3]), int(row[4]))
