"""Time windows in the sources file and on the command line: durations and ``since``.

A backfill window starts at a calendar day (``since: 2026-11-01``, midnight UTC) or a
duration back from the moment the run starts (``since: 30d``); the same durations will
serve the revisit schedules. Parsing is pure and returns a problem sentence for people
instead of raising, so the sources file's validator can put it on the right line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Since", "parse_duration", "parse_revisits", "parse_since", "parse_until", "until_end"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A window longer than this is a typo (30000d), not a backfill.
MAX_WINDOW = timedelta(days=3660)


def parse_duration(text: str) -> timedelta | str:
    """``30d``, ``12h``, ``90min``, ``2w`` → a timedelta; else why not."""
    match = _DURATION.match(text.strip())
    if match is None:
        return f"{text!r} is not a duration such as 30d, 12h, 90min or 2w"
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        return f"{text!r} is not a duration longer than zero"
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Since:
    """The start of a backfill window: a calendar day, or a span back from the run's start."""

    day: date | None = None
    ago: timedelta | None = None

    def start(self, now: float) -> float:
        """The window's first moment, as a Unix time, for a run started at ``now``."""
        if self.day is not None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp()
        assert self.ago is not None
        return now - self.ago.total_seconds()

    def __str__(self) -> str:
        return self.day.isoformat() if self.day is not None else f"{self.ago}"


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_since(value: object, today: date | None = None) -> Since | str:
    """A date (YAML reads ``2026-11-01`` as one; a string works too) or a duration such as ``30d``."""
    today = today or datetime.now(UTC).date()
    day = _day(value)
    if day is not None:
        if day > today:
            return f"{day.isoformat()} is in the future; since is where a backfill starts"
        if today - day > MAX_WINDOW:
            return f"{day.isoformat()} is more than {MAX_WINDOW.days} days ago"
        return Since(day=day)
    if not isinstance(value, str):
        return f"expected a date (2026-11-01) or a duration (30d), got {value!r}"
    duration = parse_duration(value)
    if isinstance(duration, str):
        return f"{value!r} is neither a date (2026-11-01) nor a duration (30d, 12h)"
    if duration > MAX_WINDOW:
        return f"{value!r} is longer than {MAX_WINDOW.days} days"
    return Since(ago=duration)


def parse_until(value: str) -> date | str:
    """``-a until=2026-11-15``: the last day a backfill reads (inclusive)."""
    day = _day(value)
    if day is None:
        return f"{value!r} is not a date such as 2026-11-15"
    return day


def until_end(day: date) -> float:
    """The end of an ``until`` day (it is read in full), as a Unix time."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86400


def parse_revisits(value: object) -> tuple[float, ...] | str:
    """``[1h, 6h]``, ``"1h, 6h"`` or ``false`` → ages in seconds (``()`` for none), else why not."""
    if value is False or value is None or (isinstance(value, str) and value.strip().lower() in ("false", "off", "")):
        return ()
    items: Iterable[object] = value.split(",") if isinstance(value, str) else value  # type: ignore[assignment]
    if isinstance(value, (bool, int, float)) or not isinstance(items, Iterable):
        return f"expected a list of durations such as [1h, 6h, 24h, 72h], or false; got {value!r}"
    ages = []
    for item in items:
        parsed = parse_duration(str(item))
        if isinstance(parsed, str):
            return parsed
        ages.append(parsed.total_seconds())
    return tuple(sorted(set(ages)))
