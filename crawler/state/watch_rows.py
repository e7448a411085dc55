"""What a delivery adds for the analyst: the search index's rows, the watchlist matches and the
alerts owed, derived from the run's payload in one place for both stores.

Every delivered record already travels in the payload, packed, as its evidence row
(crawler/state/checks.py); the search index and the matches are read from that record, so what
is searchable is exactly what was delivered, in the same transaction."""

from __future__ import annotations

import base64
import json
from typing import Any

from crawler.parsing.dates import unix_time
from crawler.state.rows import unpack_record
from crawler.state.sql import TEXT_COLUMNS

__all__ = ["alert_rows", "delivered_records", "match_rows", "search_rows"]


def delivered_records(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The records the delivery carries (as its evidence rows), unpacked."""
    records = []
    for entry in batch.get("evidence", []):
        record = unpack_record(base64.b64decode(entry["record"]))
        if record is not None:
            # The evidence row names the article's id, source and URL whatever the record holds.
            records.append({"source": entry["source"], "url": entry["url"], **record, "id": entry["id"]})
    return records


def search_rows(records: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
    """One search row per delivered record: its texts, when it is dated (published, else
    delivered) and what became of it (``change``: edited, removed, restored, or null)."""
    rows = []
    for record in records:
        change = record.get("change") or {}
        published = record.get("published")
        rows.append({
            "article_id": record["id"], "source": record["source"], "language": record.get("language"),
            "url": record.get("canonical_url") or record.get("url"), "story_id": record.get("story_id") or record["id"],
            "published": published, "dated": int(unix_time(published) or now),
            "delivered": now, "revision": int(record.get("revision") or 1), "change": change.get("kind"),
            **{column: record.get(column) or "" for column in TEXT_COLUMNS},
        })  # fmt: skip
    return rows


def match_rows(records: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
    """A row per (watchlist, article) the run's records matched (``scrapy sources alerts``)."""
    return [
        {"watchlist": match["name"], "article_id": record["id"], "story_id": record.get("story_id") or record["id"],
         "source": record["source"], "matched": now, "terms": json.dumps(match.get("terms", []), ensure_ascii=False),
         "mentions": int(match.get("mentions") or 0), "seen_in": ",".join(match.get("in", []))}
        for record in records
        for match in record.get("watchlists") or []
    ]  # fmt: skip


def alert_rows(batch: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """The alerts the run owes (a watchlist with a webhook, a story not alerted before)."""
    return [
        {"watchlist": a["watchlist"], "story_id": a["story_id"], "article_id": a["article_id"],
         "payload": json.dumps(a["payload"], ensure_ascii=False), "created": now}
        for a in batch.get("alerts", [])
    ]  # fmt: skip
