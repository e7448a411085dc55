"""The day (or month) a URL names: ``/2026/11/03/``, ``20261103``, ``date_start=20261103``, ``2026-11``.

Archive sitemaps and article URLs carry their date (RIA: ``ria.ru/20261103/…`` and
``sitemap_article.xml?date_start=20261103&date_end=20261103``; many outlets
``/news/2026/11/03/slug``). It tells, before any request, whether a child sitemap is older
than the window a run revisits and whether an article is older than a backfill's ``since``.
htmldate's ``extract_url_date`` knows only separated year-month-day, so compact dates and
months are read here too; a URL naming several dates (a start and an end) spans them all.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Period", "url_period"]

# Year 1990-2039, then month and day, separated by / - _ or ., not inside a longer number.
_YMD = re.compile(r"(?<!\d)((?:199|20[0-3])\d)[/_.-](0?[1-9]|1[0-2])[/_.-](0?[1-9]|[12]\d|3[01])(?!\d)")
_COMPACT = re.compile(r"(?<!\d)((?:199|20[0-3])\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_YM = re.compile(r"(?<![\d])((?:199|20[0-3])\d)[/_-](0?[1-9]|1[0-2])(?![\d])(?![/_.-]\d)")


@dataclass(frozen=True, slots=True)
class Period:
    """The days a URL names, first to last (one day, a month, or a start and an end)."""

    first: date
    last: date

    def start(self) -> float:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC).timestamp()

    def end(self) -> float:
        """The moment the period is over (midnight UTC after its last day)."""
        after = self.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC).timestamp()


def _plausible(day: date) -> bool:
    return date(1990, 1, 1) <= day <= datetime.now(UTC).date() + timedelta(days=2)


# ?year=2026&month=11&day=3 (or y/m/d), in any order.
_QUERY_PART = re.compile(r"[?&](year|y|month|m|day|d)=(\d{1,4})(?=&|$)", re.IGNORECASE)


def _query_day(url: str) -> date | None:
    parts = {name.lower()[0]: int(value) for name, value in _QUERY_PART.findall(url)}
    if not {"y", "m", "d"} <= set(parts):
        return None
    try:
        return date(parts["y"], parts["m"], parts["d"])
    except ValueError:
        return None


def _days(url: str) -> list[date]:
    days = [day for day in (_query_day(url),) if day is not None and _plausible(day)]
    for pattern in (_YMD, _COMPACT):
        for match in pattern.finditer(url):
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            if _plausible(day):
                days.append(day)
    return days


def url_period(url: str) -> Period | None:
    """The period ``url`` names, or None when it names no plausible date."""
    days = _days(url)
    if days:
        return Period(min(days), max(days))
    for match in _YM.finditer(url):
        year, month = int(match.group(1)), int(match.group(2))
        first = date(year, month, 1)
        if _plausible(first):
            return Period(first, date(year, month, calendar.monthrange(year, month)[1]))
    return None
