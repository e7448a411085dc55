"""Parse the date formats feeds, sitemaps and pages use into ISO 8601 strings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["days_since", "format_iso", "parse_date", "unix_time", "utc_timestamp"]

_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_TRAILING_TZ_NAME = re.compile(r"\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
# Dates before the web or far in the future are parsing accidents.
_EARLIEST = date(1990, 1, 1)


def _plausible(value: date) -> bool:
    latest = datetime.now(UTC).date() + timedelta(days=2)
    return _EARLIEST <= value <= latest


def parse_date(text: str | None) -> datetime | date | None:
    """ISO 8601 / RFC 822 text -> aware or naive datetime, or a date; None if unparseable."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text or len(text) > 64:
        return None
    if _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return day if _plausible(day) else None
    try:
        # Well-formed ISO 8601 (what sitemaps and our own summaries write) needs no repair.
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _repaired(text)
    if parsed is None:
        return None
    return parsed if _plausible(parsed.date()) else None


def _repaired(text: str) -> datetime | None:
    """ISO 8601 with a zone name, an offset without colon or long fractions; else RFC 822."""
    candidate = _TRAILING_TZ_NAME.sub("+00:00", text) if text[-1:].isalpha() else text
    candidate = _OFFSET_NO_COLON.sub(r"\1:\2", candidate)
    candidate = _FRACTION.sub(r"\1", candidate)
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None


def format_iso(value: datetime | date | None) -> str | None:
    """ISO 8601 without microseconds; keeps the offset when there is one."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def utc_timestamp(moment: float | None = None) -> str:
    """``moment`` (a Unix time; now if None) as ISO 8601 UTC with a "Z": 2026-11-30T06:00:00Z."""
    when = datetime.now(UTC) if moment is None else datetime.fromtimestamp(moment, UTC)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def unix_time(text: str | None) -> float | None:
    """The date in ``text`` as a Unix time (a date is its midnight, a naive time is UTC), or None."""
    parsed = parse_date(text)
    if parsed is None:
        return None
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def days_since(text: str | None) -> float | None:
    """Days from the date in ``text`` until now, or None when it does not parse."""
    moment = unix_time(text)
    return None if moment is None else (datetime.now(UTC).timestamp() - moment) / 86400
