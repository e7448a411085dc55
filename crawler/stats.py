"""Per-source counters kept in Scrapy's stats collector under ``sources/<name>/...``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from scrapy.crawler import Crawler

__all__ = ["PREVIOUS_RUN_STAT", "Count", "SourceStats", "per_source"]

PREFIX = "sources/"
# When the run before this one finished (the state extension sets it; the digest reads it).
PREVIOUS_RUN_STAT = "run/previous_finished"


class Count(StrEnum):
    """The per-source counters (``sources/<name>/<count>``) that are written in one place and
    read in another (the run summary, crawler/output/summary.py): each named once, here.
    Counters by reason (``not_emitted/<reason>``, ``discovery/failed/<reason>``, ...) are
    built from the reason's own type where they are counted."""

    ARTICLES_REQUESTED = "articles_requested"
    BACKLOG = "backlog"
    DISCOVERED = "discovered"
    DISCOVERY_BACKFILL = "discovery/backfill"
    DISCOVERY_FAILED = "discovery/failed"
    DISCOVERY_NEXT_PAGES = "discovery/next_pages"
    DISCOVERY_NOT_DUE = "discovery/not_due"
    DISCOVERY_NOT_MODIFIED = "discovery/not_modified"
    DISCOVERY_NOT_YET = "discovery/not_yet"
    DISCOVERY_OFFSITE_SITEMAPS = "discovery/offsite_sitemaps"
    DISCOVERY_OK = "discovery/ok"
    DISCOVERY_OVER_MAX_ARTICLES = "discovery/over_max_articles"
    DISCOVERY_REPEATED = "discovery/repeated"
    DISCOVERY_SKIPPED_LINKS = "discovery/skipped_links"
    DISCOVERY_UNIFORM_DATES = "discovery/uniform_dates"
    EMITTED = "emitted"
    GIVEN_UP = "given_up"
    HTTP_ERRORS = "http_errors"
    LINKS_BEFORE_SINCE = "links/before_since"
    LINKS_DUPLICATE = "links/duplicate"
    LINKS_NOT_FOLLOWED = "links/not_followed"
    LINKS_OFFSITE = "links/offsite"
    LINKS_OVER_MAX_ARTICLES = "links/over_max_articles"
    LINKS_RETRY_LATER = "links/retry_later"
    LINKS_TOO_LONG = "links/too_long"
    MOVED = "moved"
    NEW = "new"
    OWED = "owed"
    REMOVED = "removed"
    # Pages rendered in the browser (crawler/net/browser.py): done, failed, the time they took,
    # connections of theirs the guard refused; plain pages that needed the browser (render:
    # auto), and rendered pages that still gave no article because a wall answered.
    RENDERED = "render/pages"
    RENDER_FAILED = "render/failed"
    RENDER_MS = "render/ms"
    RENDER_REFUSED = "render/refused"
    RENDER_AUTO = "render/auto"
    RENDER_STILL_BLOCKED = "render/still_blocked"
    # Pages of a source without render that looked built by scripts or were script challenges.
    RENDER_NEEDED = "render/needed"
    RESTORED = "restored"
    RETRANSLATED = "retranslated"
    RETRIED = "retried"
    RETRY_FAILED = "retry_failed"
    RETRY_PENDING = "retry_pending"
    # Checks of delivered articles (crawler/evidence): asked, answered 304, found edited (a
    # revision the site did not announce), found gone for the first time, could not tell.
    REVISITS = "revisits"
    REVISITS_NOT_MODIFIED = "revisits/not_modified"
    REVISITS_EDITED = "revisits/edited"
    REVISITS_GONE_SUSPECTED = "revisits/gone_suspected"
    REVISITS_INCONCLUSIVE = "revisits/inconclusive"
    # A URL that cannot exist, asked when a check got a page that is not the article and says
    # nothing: a site serving the same page there serves soft 404s.
    REVISITS_PROBES = "revisits/probes"
    TRANSLATED = "translated"
    TRANSLATION_CHARS = "translation_chars"
    TRANSLATION_DEFERRED = "translation_deferred"
    TRANSLATION_DEFERRED_CHARS = "translation_deferred_chars"
    TRANSLATION_FAILED = "translation_failed"
    TRANSLATION_FAILED_AGAIN = "translation_failed_again"
    TRANSLATION_RETRIES = "translation_retries"
    UNCHANGED = "unchanged"
    UPDATED = "updated"


class SourceStats:
    """Names the counters once so the spider, pipelines and the summary agree."""

    def __init__(self, crawler: Crawler):
        self._crawler = crawler

    @property
    def _stats(self) -> Any:
        # Looked up on use: Scrapy creates the stats collector after the spider.
        return self._crawler.stats

    def inc(self, source: str, key: str, count: int = 1) -> None:
        self._stats.inc_value(f"{PREFIX}{source}/{key}", count)

    def touch(self, source: str) -> None:
        """Make a source appear in the stats even when nothing happens to it."""
        self._stats.inc_value(f"{PREFIX}{source}/{Count.DISCOVERED}", 0)

    def discovery_ok(self, source: str) -> None:
        self.inc(source, Count.DISCOVERY_OK)

    def answered(self, source: str, kind: str, newest: float | None = None) -> None:
        """A discovery document of ``kind`` answered (200 or 304); ``newest`` is the Unix time
        of its newest dated entry, for source health to tell a frozen feed."""
        self.inc(source, f"answered/{kind}")
        if newest is not None:
            self._stats.max_value(f"{PREFIX}{source}/newest/{kind}", int(newest))

    def discovery_failed(self, source: str, reason: str) -> None:
        self.inc(source, f"discovery/failed/{reason}")
        self.inc(source, Count.DISCOVERY_FAILED)

    def not_emitted(self, source: str, reason: str) -> None:
        self.inc(source, f"not_emitted/{reason}")
        self._stats.inc_value(f"articles/not_emitted/{reason}")

    def emitted(self, source: str) -> None:
        self.inc(source, Count.EMITTED)


def per_source(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Regroup flat ``sources/<name>/<key>`` stats into {name: {key: value}}."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in stats.items():
        if not key.startswith(PREFIX):
            continue
        name, _, rest = key[len(PREFIX) :].partition("/")
        grouped.setdefault(name, {})[rest] = value
    return grouped
