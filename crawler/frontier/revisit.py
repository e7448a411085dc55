"""When a feed, sitemap or listing page is asked for: the revisit policy of discovery documents.

Asking every document on every run costs the site one request each, forever: an index of one
sitemap per day (RIA's ``sitemap_article.xml?date_start=…``) grows by a request a day. What
a run asks for instead:

* a document never read in full (new, or its last read failed) is asked at once, unless it
  is dated (by its URL or the ``<lastmod>`` its index gives) before the window a run keeps
  watching: then only a backfill reaching back that far reads it, once;
* a child whose index gives it a ``<lastmod>`` is asked when that lastmod moves, and while it
  is within ``CURRENT`` (12 h) of now: the sitemap an outlet is writing into may gain an entry
  dated before its newest one, which leaves a lastmod computed from its entries as it was;
* a dated child older than the window (``DISCOVERY_WINDOW_DAYS``), read in full once, is not
  asked again: yesterday's archive of last month does not change;
* any other document is asked on every run while it changed within ``HOT`` (48 h); after
  that at an interval that grows with how long it has been unchanged, capped at
  ``DISCOVERY_REVISIT_MAX_HOURS``. Children due only by that interval are asked at most
  ``DISCOVERY_REVISITS_PER_RUN`` per source and run, longest overdue first, so that an
  index of a thousand undated children costs a few requests a run, not a thousand a day.

Pure: the caller supplies the stored record, the link as its parent lists it, and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crawler import settings as defaults
from crawler.parsing.dates import unix_time
from crawler.parsing.url_dates import Period, url_period

__all__ = ["HOT", "DocumentRecord", "Due", "RevisitPolicy", "Window"]

HOUR = 3600.0
# A document that changed within this long is asked on every run: news documents that change
# daily (an index gaining a child each midnight) never cool down.
HOT = 48 * HOUR
# A child whose index dates it within this long is asked on every run, lastmod moved or not.
CURRENT = 12 * HOUR


class Due(StrEnum):
    NOW = "now"  # ask this run
    COLD = "cold"  # due by its revisit interval only: within the source's per-run budget
    BACKFILL = "backfill"  # dated before the watched window, inside since: read once, after new articles
    LATER = "later"  # not this run
    NEVER = "never"  # dormant: its lastmod has not moved, or it is dated outside every window


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the state remembers of a discovery document."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    fetched: float | None = None  # last asked for
    changed: float | None = None  # last time what it lists changed (its first read counts)
    complete: bool = True  # read in full and usable the last time it was asked
    children: tuple[tuple[str, str | None], ...] | None = None  # (url, lastmod) it listed
    digest: str | None = None  # of what it listed, to tell a changed 200 from an unchanged one
    listed: str | None = None  # the lastmod its index gave it when it was last read in full
    cursor: dict[str, Any] | None = None  # a paginated archive's backfill position

    @property
    def read(self) -> bool:
        """Read in full at least once, and its last read succeeded."""
        return self.complete and self.fetched is not None


@dataclass(frozen=True, slots=True)
class Window:
    """The time a run works in: the live window it keeps watching, and a backfill's bounds."""

    now: float
    live_from: float  # documents dated before this are not revisited
    since: float | None = None  # a backfill reads archives back to here
    until: float | None = None  # and no later than here (exclusive end), if set

    def backfills(self, first: float, last: float) -> bool:
        """Whether a document spanning [first, last) lies inside the backfill's bounds."""
        if self.since is None or last <= self.since:
            return False
        return self.until is None or first < self.until


@dataclass(frozen=True, slots=True)
class RevisitPolicy:
    window_days: float = defaults.DISCOVERY_WINDOW_DAYS
    max_interval: float = defaults.DISCOVERY_REVISIT_MAX_HOURS * HOUR
    per_run: int = defaults.DISCOVERY_REVISITS_PER_RUN

    @classmethod
    def from_settings(cls, settings: Any) -> RevisitPolicy:
        return cls(
            window_days=max(0.0, settings.getfloat("DISCOVERY_WINDOW_DAYS", defaults.DISCOVERY_WINDOW_DAYS)),
            max_interval=max(
                0.0, settings.getfloat("DISCOVERY_REVISIT_MAX_HOURS", defaults.DISCOVERY_REVISIT_MAX_HOURS)
            )
            * HOUR,
            per_run=max(0, settings.getint("DISCOVERY_REVISITS_PER_RUN", defaults.DISCOVERY_REVISITS_PER_RUN)),
        )

    def window(self, now: float, since: float | None = None, until: float | None = None) -> Window:
        return Window(now, now - self.window_days * 86400, since, until)

    def interval(self, record: DocumentRecord, now: float) -> float:
        """Seconds between two asks of a document unchanged for a while: nothing while it is
        hot, then half of the time it has been cool, capped."""
        changed = record.changed if record.changed is not None else record.fetched
        unchanged = now - (changed if changed is not None else now)
        return 0.0 if unchanged < HOT else min(self.max_interval, (unchanged - HOT) / 2)

    def _by_interval(self, record: DocumentRecord, now: float) -> Due:
        interval = self.interval(record, now)
        if interval <= 0:
            return Due.NOW
        return Due.COLD if now - (record.fetched or 0.0) >= interval else Due.LATER

    def root_due(self, record: DocumentRecord | None, url: str, window: Window, day: Period | None = None) -> Due:
        """A document the sources file names: a feed, a sitemap or a listing's first page, which
        is read whatever date its URL may carry, or one ``day`` of a date template. Due.COLD is
        returned as Due.NOW: roots have no budget."""
        due = self.child_due(url, None, record, window, day, by_url=False)
        return Due.NOW if due == Due.COLD else due

    def child_due(
        self, url: str, lastmod: str | None, record: DocumentRecord | None, window: Window,
        period: Period | None = None, by_url: bool = True,
    ) -> Due:  # fmt: skip
        """A document another one lists, with the ``lastmod`` it gives (None if it gives none,
        or if it stamps one date on every child, which says nothing). ``period``: the days it
        covers, else (``by_url``) those its URL names."""
        if period is None and by_url:
            period = url_period(url)
        marked = unix_time(lastmod) if lastmod else None
        if record is None or not record.read:
            return self._first_read(period, marked, window)
        if lastmod is not None:
            # An index's lastmod for a child decides, when it has one; but the sitemap being
            # written into now is asked anyway: an entry dated before its newest one (a story
            # published with an earlier time) leaves a lastmod computed as the newest entry's as it was.
            if lastmod != record.listed or (marked is not None and window.now - marked < CURRENT):
                return Due.NOW
            return Due.NEVER
        if period is not None and period.end() <= window.live_from:
            return Due.NEVER
        return self._by_interval(record, window.now)

    @staticmethod
    def _first_read(period: Period | None, marked: float | None, window: Window) -> Due:
        if marked is None and period is None:
            return Due.NOW  # undated: only reading it tells
        first = period.start() if period is not None else marked
        last = max(value for value in (marked, period.end() if period is not None else None) if value is not None)
        if last > window.live_from:
            return Due.NOW
        return Due.BACKFILL if window.backfills(first, last) else Due.NEVER
