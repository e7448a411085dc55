"""Which discovery documents a run asks for, and in which phase.

The sources file names roots (feeds, sitemaps, listing pages, and date templates that expand
to one URL per day); indexes and paged listings name children. For each, the revisit policy
(crawler/frontier/revisit.py) weighs the stored record against the link as its parent gives
it. A document that is not asked for this run still has its stored children weighed, each on
its own record, so an index that has not changed never hides a child that has.

Documents dated before the watched window but inside a backfill's ``since`` come out as
``Due.BACKFILL``: the spider reads them after the source's new articles, newest first, while
the run's quota lasts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from crawler.config.date_templates import is_template, template_days
from crawler.config.sources_file import Source
from crawler.frontier.documents import DocumentBook
from crawler.frontier.revisit import DocumentRecord, Due, RevisitPolicy, Window
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.markers import is_uniform
from crawler.parsing.url_dates import Period

__all__ = ["DiscoverySchedule", "Planned"]

# Documents nested deeper than this are not followed (an index pointing at itself, …).
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Planned:
    """A discovery document and what the run does with it."""

    url: str
    kind: DiscoveryKind
    due: Due
    depth: int = 0
    parent: str | None = None
    listed: str | None = None  # the lastmod its parent gives it
    day: date | None = None  # the day of a date template's URL
    root: str | None = None  # the sources file's URL it comes from (a listing's first page)


class DiscoverySchedule:
    """The run's decisions; it keeps each source's budget of revisits due by interval only."""

    def __init__(self, book: DocumentBook, policy: RevisitPolicy, full: bool = False):
        self.book = book
        self.policy = policy
        self.full = full
        self.cold_used: Counter[str] = Counter()

    def _record(self, url: str) -> DocumentRecord | None:
        # -a full=1: nothing remembered counts, except what the dates of documents say.
        return None if self.full else self.book.record(url)

    def roots(self, source: Source, window: Window) -> list[Planned]:
        """The source's own documents, each with its decision."""
        expanded: list[tuple[str, DiscoveryKind, date | None, str]] = []
        today = datetime.fromtimestamp(window.now, UTC).date()
        oldest = datetime.fromtimestamp(min(window.live_from, window.since or window.live_from), UTC).date()
        for kind, url in source.roots:
            if not is_template(url):
                expanded.append((url, kind, None, url))
                continue
            # Tomorrow too: "today" at an outlet east of UTC starts before UTC's.
            newest = today + timedelta(days=1)
            if window.until is not None:
                newest = min(newest, datetime.fromtimestamp(window.until, UTC).date() - timedelta(days=1))
            expanded += [(day_url, kind, day, url) for day, day_url in template_days(url, newest, oldest)]
        self.book.records(url for url, *_ in expanded)
        planned = []
        for url, kind, day, root in expanded:
            due = self.policy.root_due(self._record(url), url, window, Period(day, day) if day is not None else None)
            planned.append(Planned(url, kind, due, day=day, root=root))
        return planned

    def children(
        self, source: Source, parent: str, kind: str, links: list[tuple[str, str | None]], depth: int,
        window: Window, root: str | None = None,
    ) -> list[Planned]:  # fmt: skip
        """What ``parent`` lists besides articles (child sitemaps, later pages), each weighed;
        for those not asked for, their own stored children too."""
        if depth + 1 > MAX_DEPTH or not links:
            return []
        records = {} if self.full else self.book.records(url for url, _ in links)
        trusted = not is_uniform([lastmod for _, lastmod in links])
        planned, cold = [], []
        for url, lastmod in links:
            record = records.get(url)
            if kind.paged:
                # A later page is read when the page before it shows new links (the spider's
                # decision), or when its own last read failed.
                due = Due.NOW if record is None or not record.read else Due.NEVER
            else:
                due = self.policy.child_due(url, lastmod if trusted else None, record, window)
            item = Planned(url, kind, due, depth + 1, parent, lastmod, root=root if kind.paged else None)
            (cold if due == Due.COLD else planned).append(item)
        planned += self._within_budget(source, cold, records, window)
        for item in list(planned):
            if item.due in (Due.LATER, Due.NEVER) and (record := records.get(item.url)) and record.children:
                planned += self.children(source, item.url, kind, list(record.children), item.depth, window, root)
        return planned

    def _within_budget(
        self, source: Source, cold: list[Planned], records: dict[str, DocumentRecord | None], window: Window
    ) -> list[Planned]:
        """Children due by interval only: the longest overdue, as many as the source's budget allows."""

        def overdue(item: Planned) -> float:
            record = records[item.url]
            assert record is not None
            return window.now - (record.fetched or 0.0) - self.policy.interval(record, window.now)

        result = []
        for item in sorted(cold, key=overdue, reverse=True):
            if self.cold_used[source.name] < self.policy.per_run:
                self.cold_used[source.name] += 1
                result.append(replace(item, due=Due.NOW))
            else:
                result.append(replace(item, due=Due.LATER))
        return result
