"""Change markers: how a feed or sitemap says that an article changed since the last run.

A marker is the date a document gives an entry, with its kind: ``u:`` a
modification time (sitemap lastmod, Atom <updated>, JSON Feed date_modified),
``p:`` a publication time (RSS pubDate, news:publication_date), ``r:`` a date
that does not parse, kept as written. Outlets move articles between documents
(a rolling news sitemap into an archive) and edit them on the way, so times of
one kind are compared across every document that listed the article: the
article changed when a document now gives it a later time than any seen
before. A date that does not parse can only be compared with itself, in the
same document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from crawler.parsing.dates import parse_date

__all__ = ["has_changed", "is_uniform"]

# Fewer entries sharing one date can be a coincidence (a batch published at once).
_UNIFORM_MIN_ENTRIES = 5

_KINDS = ("u", "p")


def _split(marker: str) -> tuple[str | None, str]:
    """(kind, value); markers stored by releases before kinds existed have no kind."""
    if len(marker) > 2 and marker[1] == ":" and marker[0] in "upr":
        return marker[0], marker[2:]
    return None, marker


def _instant(value: str) -> datetime | None:
    parsed = parse_date(value)
    if isinstance(parsed, datetime):
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(parsed, date):
        return datetime.combine(parsed, time(), UTC)
    return None


def has_changed(marker: str, document: str, seen: dict[str, str]) -> bool:
    """Whether ``document``'s ``marker`` for an article says it changed, given the markers
    ``seen`` for it on earlier runs ({document URL: marker})."""
    kind, value = _split(marker)
    if kind in _KINDS and (new := _instant(value)) is not None:
        # A marker stored before kinds existed only counts for its own document.
        earlier = [
            instant
            for where, stored in seen.items()
            if _split(stored)[0] == kind or (_split(stored)[0] is None and where == document)
            if (instant := _instant(_split(stored)[1])) is not None
        ]
        if earlier:
            return new > max(earlier)
    previous = seen.get(document)
    return previous is not None and _split(previous)[1] != value


def is_uniform(markers: list[str | None]) -> bool:
    """Whether every entry of a document carries the same date: the document's generation
    time stamped on each item, which says nothing about any one article."""
    return len(markers) >= _UNIFORM_MIN_ENTRIES and None not in markers and len(set(markers)) == 1
