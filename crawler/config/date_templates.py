"""Date-templated archive URLs: one sitemap or listing page per day.

Outlets publish their archives by day: RIA's ``sitemap_article.xml?date_start=20261103&
date_end=20261103``, a listing at ``/archive/2026/11/03/``. The sources file names them once
with ``{date:FORMAT}`` (a ``strftime`` format), and the crawler expands one URL per day,
newest first: the days of the recent window on every run, older days back to ``since`` once,
as a backfill. A template may name the date more than once (a start and an end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from crawler.parsing.urls import host_of, is_public_http_url_syntax

__all__ = ["expand", "is_template", "template_days", "template_problem"]

_FIELD = re.compile(r"\{date:([^{}]*)\}")
# The strftime directives that name a day, a month or a year: without one, every day's URL
# would be the same.
_DATE_DIRECTIVES = re.compile(r"%[-#]?[dYmyjbBUWVGe]")
_SAMPLE = date(2026, 11, 3)


def is_template(url: str) -> bool:
    return "{date:" in url


def expand(url: str, day: date) -> str:
    """``url`` with each ``{date:FORMAT}`` replaced by ``day`` in that format."""
    return _FIELD.sub(lambda match: day.strftime(match.group(1)), url)


def template_problem(url: str) -> str | None:
    """Why ``url`` is not a usable date template, or None (also for a URL without one)."""
    if "{" not in url and "}" not in url:
        return None
    formats = _FIELD.findall(url)
    if not formats or _FIELD.sub("", url).count("{") or _FIELD.sub("", url).count("}"):
        return "braces in a URL must be a {date:FORMAT} field, for example {date:%Y%m%d}"
    for fmt in formats:
        if not _DATE_DIRECTIVES.search(fmt):
            return f"{{date:{fmt}}} names no day, month or year (use %Y, %m, %d …)"
    try:
        sample, later = expand(url, _SAMPLE), expand(url, _SAMPLE + timedelta(days=400))
    except ValueError as exc:
        return f"not a valid strftime format ({exc})"
    if host_of(sample) != host_of(later):
        return "a {date:…} field cannot be part of the host name"
    problem = is_public_http_url_syntax(sample)
    return f"expands to {sample!r}, which is not a valid URL: {problem}" if problem else None


def template_days(url: str, newest: date, oldest: date) -> Iterator[tuple[date, str]]:
    """(day, URL) from ``newest`` back to ``oldest``, once per distinct URL (a monthly
    archive's URL repeats for each of its days: it is given for the newest of them)."""
    seen: set[str] = set()
    day = newest
    while day >= oldest:
        expanded = expand(url, day)
        if expanded not in seen:
            seen.add(expanded)
            yield day, expanded
        day -= timedelta(days=1)
