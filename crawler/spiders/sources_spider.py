"""Spider `sources`: discovery from feeds, sitemaps and listings, then article requests.

The spider decides what to fetch and hands each article page to the pure
extraction function; everything after that (de-duplication by canonical URL,
translation, state, output) happens in item pipelines.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import settings as defaults
from crawler.config.date_templates import is_template
from crawler.config.fetch_options import RenderMode
from crawler.config.setting_types import settings_config
from crawler.config.sources_file import Listing, Source, SourcesError, load_sources, select_sources
from crawler.config.windows import Since, parse_since, parse_until, until_end
from crawler.evidence.changes import FoundBy
from crawler.frontier.book import FrontierEntry
from crawler.frontier.documents import listing_digest
from crawler.frontier.revisit import Due, RevisitPolicy, Window
from crawler.frontier.run_frontier import Quotas, RunFrontier
from crawler.frontier.schedule import DiscoverySchedule, Planned
from crawler.items import ArticleItem
from crawler.net.failures import failure_reason, failure_text, retry_after
from crawler.net.politeness import download_slots, site_slots
from crawler.net.siterules import SiteRules
from crawler.net.source_fetch import RENDER_META
from crawler.output.names import run_names
from crawler.output.warc_archive import WarcArchive
from crawler.parsing.dates import unix_time, utc_timestamp
from crawler.parsing.feeds import DiscoveryError, FeedEntry, ParsedDocument, newest_entry, parse_discovery_document
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.markers import is_uniform
from crawler.parsing.records import Article, ExtractionOptions, Refusal, Rejected
from crawler.parsing.url_dates import url_period
from crawler.parsing.urls import MAX_URL_LENGTH, article_id, clean_url, host_of, url_key
from crawler.parsing.walls import is_script_challenge
from crawler.spiders.archive_backfill import ArchiveBackfill, archive_locations
from crawler.spiders.check_report import CheckReport
from crawler.spiders.listing import listing_links, next_page_url
from crawler.spiders.phases import Phase, SourcePhases
from crawler.spiders.revisits import Revisits, validators_of
from crawler.state.rows import DueCheck
from crawler.state.runstate import RunState
from crawler.state.store import StateError
from crawler.stats import Count, SourceStats
from crawler.stories.extension import Stories
from crawler.workers.memory import tune_malloc
from crawler.workers.pool import ExtractionPool, PoolConfig

LISTING = DiscoveryKind.LISTING
# The statuses script challenges answer with.
_CHALLENGE_STATUSES = frozenset({403, 429, 503})

_T = TypeVar("_T")
logger = logging.getLogger(__name__)
tune_malloc()

# Feeds and sitemaps go first so article requests never starve discovery; a backfill's
# archives and pages owed from earlier runs come after the new articles.
DISCOVERY_PRIORITY = 10
BACKFILL_PRIORITY = -5
BACKLOG_PRIORITY = -10
# Pages of one paginated archive a backfill reads in a run, at most (the quota usually stops it first).
ARCHIVE_PAGES_PER_RUN = 50
MAX_SITEMAP_DEPTH = 4
# The sitemap protocol allows 50 MB uncompressed; articles need far less.
DISCOVERY_MAXSIZE = 50 * 1024 * 1024

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_NOT_HTML_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS", b"ID3")


def _is_true(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


_SPIDER_SETTINGS = {
    "max_articles": "SOURCES_MAX_ARTICLES",
    "max_pages": "DISCOVERY_MAX_PAGES",
    "frozen_days": "CHECK_FROZEN_DAYS",
    "stories": "STORIES_ENABLED",
}


@dataclass(frozen=True)
class SpiderConfig:
    """The spider's settings, read once; each default is its setting's, in settings.py."""

    max_articles: int = defaults.SOURCES_MAX_ARTICLES  # per source and run, unless the source says
    max_pages: int = defaults.DISCOVERY_MAX_PAGES  # of a paged feed or listing, per run
    frozen_days: float = defaults.CHECK_FROZEN_DAYS  # sources check warns of a feed older than this
    stories: bool = defaults.STORIES_ENABLED  # the workers compute fingerprints
    extraction: PoolConfig = field(default_factory=PoolConfig)

    @classmethod
    def from_settings(cls, settings: Any) -> SpiderConfig:
        config = settings_config(cls, settings, names=_SPIDER_SETTINGS)
        return replace(config, extraction=PoolConfig.from_settings(settings))


class SourcesSpider(scrapy.Spider):
    name = "sources"

    def __init__(
        self,
        *args: Any,
        sources: str | None = None,
        full: str | None = None,
        limit: str | None = None,
        report: str | None = None,
        run: str | None = None,
        shard: str | None = None,
        run_time: str | None = None,
        since: str | None = None,
        until: str | None = None,
        archives: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.source_names = sources
        self.full = _is_true(full) if full is not None else False
        # -a limit=N: at most N articles per source this run (trying a source out).
        self.limit = int(limit) if limit else None
        # -a since=DATE|DURATION -a until=DATE: a backfill for this run (the crawl command checked them).
        self._since: Since | None = _since_arg(since)
        self._until: float | None = _until_arg(until)
        # -a archives=[...]: a backfill from these WARC files (scrapy sources backfill), no live site.
        self.archives: list[str] = archive_locations(archives) if archives else []
        self.backfill: ArchiveBackfill | None = None
        self._windows: dict[str, Window] = {}
        self._phases = SourcePhases()
        # -a report=1: keep a step-by-step account (scrapy sources check prints it).
        self.check = CheckReport(_is_true(report) if report is not None else False)
        self.sources: tuple[Source, ...] = ()
        self._by_name: dict[str, Source] = {}
        # Listing pages read this run -> their next page; archive pages a backfill read per listing.
        self._listing_next: dict[str, str] = {}
        self._archive_pages: Counter[str] = Counter()
        # What this run has asked for (crawler/frontier/run_frontier.py); quotas come with the settings.
        self.frontier = RunFrontier(Quotas(limit=self.limit))
        self._offsite_hosts: set[tuple[str, str]] = set()  # offsite sitemaps, logged once each
        self._slots: dict[str, str] = {}
        self._site_rules: SiteRules | bool | None = None
        self._run_state: RunState | None = None
        self._schedule: DiscoverySchedule | None = None
        # Feed URI parameters: %(run_time)s and %(run_id)s in FEEDS paths; the run state
        # takes the same run id, so file names and the database agree.
        self.run_time, self.run_id = run_names(datetime.now(UTC))
        # -a run=ID -a shard=K -a run_time=T: one shard of a distributed run (scrapy sources
        # enqueue). Its files and deliveries carry the shard; claims and the lease carry the run.
        self.parent_run: str | None = run or None
        self.shard: int | None = int(shard) if shard not in (None, "") else None
        if self.parent_run and self.shard is not None:
            self.run_time = run_time or self.run_time
            self.run_id = f"{self.parent_run}-s{self.shard}"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if not settings.getdict("FEEDS"):
            settings.set("FEEDS", settings.getdict("DEFAULT_FEEDS"), priority="spider")
        # One download slot per site, with the largest download_delay of its sources
        # (crawler/net/politeness.py). An invalid file is reported by the crawl command or in
        # from_crawler, not here.
        try:
            config = load_sources(settings.get("SOURCES_FILE"))
        except SourcesError:
            return
        slots = download_slots(config.sources, settings.getdict("DOWNLOAD_SLOTS"))
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourcesSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = load_sources(crawler.settings.get("SOURCES_FILE"))
        spider.sources = select_sources(config, spider.source_names)
        spider._by_name = {source.name: source for source in spider.sources}
        spider._slots = site_slots(config.sources)
        spider.allowed_domains = sorted({d for source in spider.sources for d in source.allowed_domains})
        spider.source_stats = SourceStats(crawler)
        spider.config = SpiderConfig.from_settings(crawler.settings)
        spider.frontier = RunFrontier(Quotas(spider.config.max_articles, spider.limit))
        spider.extractor = ExtractionPool(
            spider.config.extraction,
            stats=lambda: crawler.stats,
            preload=("crawler.stories.fingerprint_warmup",) if spider.config.stories else (),
        )
        crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        spider.revisit = RevisitPolicy.from_settings(crawler.settings)
        spider.revisits = Revisits(spider)
        if spider.archives:
            since = spider._since.start(time.time()) if spider._since else None
            spider.backfill = ArchiveBackfill(spider, spider.archives, (since, spider._until))
        return spider

    @property
    def schedule(self) -> DiscoverySchedule:
        """Which discovery documents this run asks for (it needs the run state, created after the spider)."""
        if self._schedule is None:
            self._schedule = DiscoverySchedule(self.run_state.documents, self.revisit, self.full)
        return self._schedule

    @property
    def site_rules(self) -> SiteRules | None:
        """The sites' Clean-param rules (None when ROBOTSTXT_CLEAN_PARAM is off)."""
        if self._site_rules is None:
            self._site_rules = self.crawler.get_downloader_middleware(SiteRules) or False
        return self._site_rules or None

    @property
    def run_state(self) -> RunState:
        """The run state extension (EXTENSIONS); it exists once the crawl has started."""
        if self._run_state is None:
            self._run_state = RunState.of(self.crawler)
        return self._run_state

    def source(self, name: str) -> Source | None:
        return self._by_name.get(name)

    # --- pause and resume (JOBDIR) ----------------------------------------------------

    def closed(self, reason: str) -> None:
        # Scrapy's SpiderState extension pickles ``self.state`` after this, when a JOBDIR is set.
        job = getattr(self, "state", None)
        if isinstance(job, dict):
            self.frontier.save(job)

    def _resume(self) -> None:
        job = getattr(self, "state", None)
        if isinstance(job, dict):
            for source, _, phase in self.frontier.resume(job):
                self._phases.expect(source, Phase(phase))

    # --- discovery -----------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if not self.sources:
            logger.warning("No enabled sources in %s", self.settings.get("SOURCES_FILE"))
        self._resume()
        state = self.run_state
        state.checks.configure({source.name: source.revisit for source in self.sources})
        # A backfill too: an archived copy settles a page the live crawl still owes.
        state.frontier.load(source.name for source in self.sources)
        if self.backfill is not None:
            for source in self.sources:
                self.source_stats.touch(source.name)
            async for request in self.backfill.start():
                yield request
            return
        # The records of every source's own documents, in one query rather than one per source.
        state.documents.records(url for s in self.sources for url in s.discovery_urls if not is_template(url))
        for source in self.sources:
            self.source_stats.touch(source.name)
            # Articles whose translation failed on an earlier run: translated again
            # from the stored record, without fetching the page.
            for item, keys in state.links.retry_items(source.name, self.frontier.quota_left(source)):
                self.frontier.see(keys)
                self.source_stats.inc(source.name, Count.TRANSLATION_RETRIES)
                yield item
        for source in self.sources:
            # Built whole before the first is yielded: the source's backlog waits for all of them.
            requests = [*self._frontier_requests(source, state.frontier.retries_due(source.name)), *self._roots(source)]
            if self._phases.ready(source.name):
                requests += self._backlog(source)
            for request in requests:
                yield request
        self._flush_frontier()

    def _window(self, source: Source) -> Window:
        """The time this run works in for ``source``: the watched window, and its backfill's."""
        window = self._windows.get(source.name)
        if window is None:
            since = self._since or source.since
            now = self.run_state.now
            window = self.revisit.window(now, since.start(now) if since else None, self._until)
            self._windows[source.name] = window
        return window

    def _roots(self, source: Source) -> list[Request]:
        window = self._window(source)
        requests = []
        for plan in self.schedule.roots(source, window):
            if plan.due in (Due.NOW, Due.BACKFILL):
                requests += self._follow(source, [plan], Phase.FRESH)
            else:
                # Not asked this run: what it listed last time is weighed child by child.
                self.source_stats.inc(source.name, Count.DISCOVERY_NOT_DUE)
                record = self.run_state.documents.record(plan.url)
                if plan.kind is LISTING and plan.day is not None and window.since is not None:
                    # One day of a paginated archive whose backfill stopped half-way.
                    start = self._archive_start(plan.url, window)
                    if start is not None and record is not None and record.cursor is not None:
                        archive = Planned(start, LISTING, Due.BACKFILL, 1, plan.url, day=plan.day, root=plan.url)
                        self._phases.queue(source.name, [archive])
                if record is not None and record.children:
                    children = self.schedule.children(
                        source, plan.url, plan.kind, list(record.children), 0, window, plan.root
                    )
                    requests += self._follow(source, children, Phase.FRESH)
        return requests

    def _follow(self, source: Source, plans: list[Planned], phase: Phase) -> list[Request]:
        """Requests for the plans due now; archives for later are queued for the backlog phase."""
        requests = []
        for plan in plans:
            if plan.due == Due.BACKFILL:
                self._phases.queue(source.name, [plan])
            elif plan.due == Due.NOW:
                if plan.kind is DiscoveryKind.SITEMAP and plan.parent is not None and not source.allows(plan.url):
                    self._offsite_sitemap(source, plan)
                    continue
                request = self._discovery_request(source, plan, phase)
                if request is not None:
                    requests.append(request)
        return requests

    def _offsite_sitemap(self, source: Source, plan: Planned) -> None:
        self.source_stats.inc(source.name, Count.DISCOVERY_OFFSITE_SITEMAPS)
        if (source.name, host_of(plan.url)) not in self._offsite_hosts:
            self._offsite_hosts.add((source.name, host_of(plan.url)))
            logger.warning(
                "%s: %s lists sitemaps on %s, outside allowed_domains; not followed (add the domain to read them)",
                source.name, plan.parent, host_of(plan.url),
            )  # fmt: skip

    def _discovery_request(
        self, source: Source, plan: Planned, phase: Phase, conditional: bool = True
    ) -> Request | None:
        if conditional and self.frontier.asked(source.name, plan.url):
            self.source_stats.inc(source.name, Count.DISCOVERY_REPEATED)
            return None
        self.frontier.ask(source.name, plan.url, str(phase))
        self._phases.expect(source.name, phase)
        if phase == Phase.BACKFILL:
            self.source_stats.inc(source.name, Count.DISCOVERY_BACKFILL)
        return Request(
            plan.url,
            callback=self.parse_listing if plan.kind is LISTING else self.parse_discovery,
            errback=self.on_discovery_error,
            priority=DISCOVERY_PRIORITY if phase == Phase.FRESH else BACKFILL_PRIORITY,
            headers=self.run_state.documents.conditional_headers(plan.url) if conditional else {},
            cb_kwargs={
                "source": source.name, "kind": plan.kind, "depth": plan.depth, "parent": plan.parent,
                "root": plan.root or plan.url, "listed": plan.listed, "phase": str(phase),
                "day": plan.day.isoformat() if plan.day else None,
            },
            meta={
                "download_maxsize": DISCOVERY_MAXSIZE,
                "download_slot": self._slots[source.name],
                "source": source.name,
                "discovery": plan.kind,
                "handle_httpstatus_list": [304],
            },
            # Documents are asked for whatever a JOBDIR's request filter remembers;
            # the run frontier stops loops within a run.
            dont_filter=True,
        )  # fmt: skip

    def _answered(self, source: Source, url: str, phase: str) -> list[Request]:
        """The end of a discovery document's callback: owed pages are written to the state, and
        the source's backlog starts once its fresh phase is over (or its next archive is read)."""
        self.frontier.document_answered(source.name, url, phase)
        self._flush_frontier()
        if self._phases.answered(source.name, Phase(phase)):
            return self._backlog(source)
        return self._next_archives(source)

    def _flush_frontier(self) -> None:
        try:
            self.run_state.frontier.flush()
        except StateError as exc:
            self.run_state.delivery.state_failed(exc)

    def _not_modified(
        self, response: Response, source: Source, kind: str, depth: int, cb: dict[str, Any]
    ) -> list[Request]:
        """A 304: what the document listed last time (child sitemaps, later pages) is weighed again,
        each child on its own record."""
        url = response.request.url
        self.source_stats.inc(source.name, Count.DISCOVERY_NOT_MODIFIED)
        self.source_stats.answered(source.name, kind)
        record = self.run_state.documents.not_modified(url, cb.get("listed"))
        phase = Phase(cb.get("phase") or Phase.FRESH)
        if record is None or record.children is None:
            # What it lists is not known (state from an earlier release): read it in full.
            self.check.add(
                source.name, kind, url, True, "HTTP 304, but its contents are not known: fetching it in full"
            )
            plan = Planned(url, kind, Due.NOW, depth, cb.get("parent"), cb.get("listed"), root=cb.get("root"))
            request = self._discovery_request(source, plan, phase, conditional=False)
            return [request] if request is not None else []
        again = f"; {len(record.children)} documents it links to weighed again" if record.children else ""
        self.check.add(source.name, kind, url, True, f"HTTP 304: unchanged since the last run{again}")
        window = self._window(source)
        plans = self.schedule.children(source, url, kind, list(record.children), depth, window, cb.get("root"))
        return self._follow(source, plans, phase)

    async def parse_discovery(
        self, response: Response, source: str, kind: str, depth: int, **cb: Any
    ) -> AsyncIterator[Request]:
        src = self._by_name[source]
        url = response.request.url
        if response.status == 304:
            for request in self._not_modified(response, src, kind, depth, cb):
                yield request
        else:
            try:
                document = parse_discovery_document(response.body, response.url)
            except DiscoveryError as exc:
                self.source_stats.discovery_failed(source, exc.reason)
                logger.warning("%s: %s %s is unusable: %s", source, kind, response.url, exc)
                self.check.add(source, kind, url, False, f"HTTP {response.status}, but unusable: {exc}")
                # Not read: it is asked for in full next time.
                self.run_state.documents.failed(url)
            else:
                # What the state knows of its links, in one batch (crawler/state/lookups.py).
                await self.run_state.lookups.prefetch(self._link_keys(entry.url for entry in document.entries))
                for request in self._read_document(response, src, kind, depth, document, cb):
                    yield request
        for request in self._answered(src, url, cb.get("phase") or Phase.FRESH):
            yield request

    def _link_keys(self, urls: Iterable[str]) -> list[str]:
        """The keys the links will be known by (cleaned as ``_followable`` cleans them, uncounted)."""
        return [url_key(self.cleaned(url)) for url in urls if len(url) <= MAX_URL_LENGTH]

    def cleaned(self, url: str) -> str:
        """The link without tracking or Clean-param parameters."""
        url = clean_url(url)
        return self.site_rules.clean(url) if self.site_rules is not None else url

    def _read_document(
        self, response: Response, src: Source, kind: str, depth: int, document: ParsedDocument, cb: dict[str, Any]
    ) -> Iterator[Request]:
        url, source, phase = response.request.url, src.name, Phase(cb.get("phase") or Phase.FRESH)
        self.source_stats.discovery_ok(source)
        self.source_stats.answered(source, kind, newest_entry(document.entries))
        self._report_document(source, kind, url, response.status, document)
        if document.skipped_links:
            self.source_stats.inc(source, Count.DISCOVERY_SKIPPED_LINKS, document.skipped_links)
        # A document that stamps one date on every entry says nothing about any of them.
        trusted = not is_uniform([entry.changed_marker for entry in document.entries])
        if not trusted:
            self.source_stats.inc(source, Count.DISCOVERY_UNIFORM_DATES)
        children = [(link.url, link.lastmod) for link in document.sitemaps]
        listed = [(entry.url, entry.changed_marker if trusted else None) for entry in document.entries]
        self._document_read(response, listed + children + [(document.next_page or "", None)], children, cb)
        yield from self._sitemap_children(src, url, kind, depth, children, phase)
        entries: Iterable[FeedEntry] = document.entries
        if document.kind.undated_order:
            entries = sorted(document.entries, key=lambda e: e.published or e.updated or "", reverse=True)
        via_kind = document.kind.via
        fresh = self.frontier.fresh_links
        for entry in entries:
            request = self._article_request(src, entry.url, {"kind": via_kind, "url": url}, entry, trusted, phase)
            if request is not None:
                yield request
        if document.next_page:
            next_page = self._next_page(src, url, document.next_page, kind, depth, fresh, cb.get("root"), phase)
            if next_page is not None:
                yield next_page

    def _document_read(
        self, response: Response, listed: list[tuple[str, str | None]], children: list[tuple[str, str | None]],
        cb: dict[str, Any],
    ) -> None:  # fmt: skip
        """Record a document read in full: its validators, what it lists and whether that changed."""
        etag, modified = validators_of(response)
        self.run_state.documents.read(
            response.request.url,
            etag,
            modified,
            listing_digest(listed),
            children,
            cb.get("listed"),
        )

    def _report_document(self, source: str, kind: str, url: str, status: int, document: ParsedDocument) -> None:
        if not self.check.enabled:
            return
        moment = newest_entry(document.entries)
        newest = "no dates" if moment is None else utc_timestamp(moment)
        skipped = f", {document.skipped_links} unusable links skipped" if document.skipped_links else ""
        counts = f"{len(document.entries)} links, {len(document.sitemaps)} sitemaps"
        self.check.add(source, kind, url, True, f"HTTP {status}, {document.kind}: {counts} (newest {newest}){skipped}")
        age = None if moment is None else (time.time() - moment) / 86400
        if age is not None and age > self.config.frozen_days:
            detail = f"warning: its newest item is {age:.0f} days old: a frozen feed? Look for the site's current one"
            self.check.add(source, kind, url, True, detail, warning=True)

    def _sitemap_children(
        self, source: Source, url: str, kind: str, depth: int, children: list[tuple[str, str | None]], phase: Phase
    ) -> Iterator[Request]:
        """The child sitemaps an index lists, each weighed on its own record, newest first. Once the
        source's quota is used up no more are read: they stay due for the next run."""
        if not children:
            return
        if depth >= MAX_SITEMAP_DEPTH:
            logger.warning("%s: %s nested deeper than %d levels; not followed", source.name, url, MAX_SITEMAP_DEPTH)
            return
        plans = self.schedule.children(source, url, DiscoveryKind.SITEMAP, children, depth, self._window(source))
        plans.sort(key=lambda plan: plan.listed or "", reverse=True)
        for plan in plans:
            if plan.due == Due.NOW and self.frontier.quota_left(source) <= 0:
                self.source_stats.inc(source.name, Count.DISCOVERY_OVER_MAX_ARTICLES)
                continue
            yield from self._follow(source, [plan], Phase.BACKFILL if plan.due == Due.BACKFILL else phase)

    def _next_page(
        self, source: Source, url: str, next_url: str, kind: str, depth: int, fresh_before: int,
        root: str | None, phase: Phase,
    ) -> Request | None:  # fmt: skip
        """The next page of a listing or paged feed, when this page held links not seen before
        (newer articles may have pushed others onto it) and the quota allows."""
        if (
            self.frontier.fresh_links == fresh_before
            or depth >= self.config.max_pages
            or self.frontier.quota_left(source) <= 0
        ):
            return None
        if not source.allows(next_url) or next_url == url:
            return None
        self.source_stats.inc(source.name, Count.DISCOVERY_NEXT_PAGES)
        return self._discovery_request(source, Planned(next_url, kind, Due.NOW, depth + 1, url, root=root), phase)

    async def parse_listing(
        self, response: Response, source: str, kind: str, depth: int, **cb: Any
    ) -> AsyncIterator[Request]:
        src = self._by_name[source]
        url = response.request.url
        phase = cb.get("phase") or Phase.FRESH
        requests: Iterable[Request] = ()
        if response.status == 304:
            requests = self._not_modified(response, src, kind, depth, cb)
        elif not isinstance(response, TextResponse):
            self.source_stats.discovery_failed(source, "not_html")
            logger.warning("%s: listing %s is not an HTML page", source, response.url)
            self.check.add(source, LISTING, url, False, f"HTTP {response.status}, not an HTML page")
            self.run_state.documents.failed(url)
        else:
            listings = self._listings_of(src, url, cb.get("root"))
            links = listing_links(response, [item.follow for item in listings])
            # What the state knows of its links, in one batch (crawler/state/lookups.py).
            await self.run_state.lookups.prefetch(self._link_keys(links))
            requests = self._read_listing(response, src, depth, cb, listings, links)
        for request in requests:
            yield request
        for request in self._answered(src, url, phase):
            yield request

    @staticmethod
    def _listings_of(src: Source, url: str, root: str | None) -> list[Listing]:
        """The listing entries of this page (of its first page, for later ones); all of them
        if it was reached another way (a redirect)."""
        return [item for item in src.listings if item.url == (root or url)] or list(src.listings)

    def _read_listing(
        self, response: TextResponse, src: Source, depth: int, cb: dict[str, Any], listings: list[Listing],
        links: list[str],
    ) -> Iterator[Request]:  # fmt: skip
        url, source, root = response.request.url, src.name, cb.get("root")
        self.source_stats.discovery_ok(source)
        self.check.add(source, LISTING, url, True, f"HTTP {response.status}, HTML listing page")
        next_url = next_page_url(response, listings[0].next)
        children = [(next_url, None)] if next_url else []
        self._document_read(response, [(link, None) for link in links] + children, children, cb)
        if next_url:
            self._listing_next[url] = next_url
        phase = Phase(cb.get("phase") or Phase.FRESH)
        fresh = self.frontier.fresh_links
        for link in links:
            request = self._article_request(src, link, {"kind": LISTING, "url": url}, None, phase=phase)
            if request is not None:
                yield request
        if phase == Phase.BACKFILL:
            request = self._archive_next(src, url, depth, links, next_url, root or url)
        else:
            request = self._next_page(src, url, next_url, LISTING, depth, fresh, root, phase) if next_url else None
        if request is not None:
            yield request

    # --- a paginated archive, read back to since across runs ------------------------------

    def _archive_next(
        self, source: Source, url: str, depth: int, links: list[str], next_url: str | None, root: str
    ) -> Request | None:
        """The page after an archive page read in a backfill, and the archive's cursor: done once a
        page's dated links are all older than ``since`` or there is no next page; else where the
        next run goes on when the quota (or the pages a run may read) runs out first."""
        window = self._window(source)
        dated = [dates for link in links if (dates := article_dates(None, link)) is not None]
        reached = window.since is not None and bool(dated) and all(last < window.since for _, last in dated)
        usable = next_url is not None and next_url != url and source.allows(next_url)
        done = reached or not usable
        self.run_state.documents.set_cursor(root, {"next": next_url if usable else None, "done": done,
                                                   "since": window.since})  # fmt: skip
        if done or self.frontier.quota_left(source) <= 0 or self._archive_pages[root] >= ARCHIVE_PAGES_PER_RUN:
            return None
        self._archive_pages[root] += 1
        assert next_url is not None
        return self._discovery_request(source, Planned(next_url, LISTING, Due.NOW, depth + 1, url, root=root),
                                       Phase.BACKFILL)  # fmt: skip

    def _archive_plans(self, source: Source) -> list[Planned]:
        """Where the source's paginated archives continue a backfill this run (its listings'
        later pages, back to ``since``), each from its cursor."""
        window = self._window(source)
        if window.since is None:
            return []
        plans = []
        for listing in source.listings:
            if is_template(listing.url):
                continue  # a day's page: read as a day of the template
            start = self._archive_start(listing.url, window)
            if start is not None:
                plans.append(Planned(start, LISTING, Due.BACKFILL, 1, listing.url, root=listing.url))
        return plans

    def _archive_start(self, root: str, window: Window) -> str | None:
        cursor = self.run_state.documents.cursor(root)
        if cursor and cursor.get("done") and (cursor.get("since") or 0) <= (window.since or 0):
            return None
        if cursor is not None and cursor.get("next") is None and cursor.get("done"):
            return None  # the archive's last page was read
        start = (cursor or {}).get("next")
        if start is None:
            # No backfill yet: it starts at the first page's next page.
            record = self.run_state.documents.record(root)
            children = record.children if record is not None and record.children else ()
            start = self._listing_next.get(root) or next((url for url, _ in children), None)
        # Pages this run read already (the fresh phase's later pages): go on after them.
        seen: set[str] = set()
        while start is not None and start in self._listing_next and start not in seen:
            seen.add(start)
            start = self._listing_next[start]
        return start

    # --- the backlog phase: owed pages, then archives ---------------------------------

    def _backlog(self, source: Source) -> list[Request]:
        """Once the source's new articles are asked for: pages owed from earlier runs, newest
        first, then the archives a backfill has still to read, while the quota lasts."""
        self._phases.start_backlog(source.name)
        owed = self.frontier.unseen(self.run_state.frontier.backlog(source.name))
        requests = self._frontier_requests(source, owed, BACKLOG_PRIORITY)
        self._phases.queue(source.name, self._archive_plans(source))
        return requests + self.revisits.requests(source) + self._next_archives(source)

    def _next_archives(self, source: Source) -> list[Request]:
        requests = []
        while self.frontier.quota_left(source) > 0 and (plan := self._phases.take(source.name)) is not None:
            requests += self._follow(source, [replace(plan, due=Due.NOW)], Phase.BACKFILL)
        return requests

    def _frontier_requests(self, source: Source, entries: list[FrontierEntry], priority: int = 0) -> list[Request]:
        requests = []
        for entry in entries:
            if self.frontier.seen(entry.key):
                continue
            if self.frontier.quota_left(source) <= 0:
                self.source_stats.inc(source.name, Count.LINKS_OVER_MAX_ARTICLES)
                break
            if entry.attempts:
                self.source_stats.inc(source.name, Count.RETRIED)
            else:
                self.source_stats.inc(source.name, Count.OWED)
            requests.append(self._fetch(source, entry.url, entry.key, entry.via, entry.entry, entry.marker, priority))
        return requests

    def _followable(self, source: Source, url: str) -> str | None:
        """The link without tracking or Clean-param parameters, or None (counted) when the
        source does not take it."""
        if len(url) > MAX_URL_LENGTH:
            self.source_stats.inc(source.name, Count.LINKS_TOO_LONG)
            return None
        url = self.cleaned(url)
        if not source.allows(url):
            self.source_stats.inc(source.name, Count.LINKS_OFFSITE)
            self.check.offsite(source.name, host_of(url))
            return None
        if not source.follows(url):
            self.source_stats.inc(source.name, Count.LINKS_NOT_FOLLOWED)
            return None
        return url

    def _article_request(
        self, source: Source, url: str, via: dict[str, str], entry: FeedEntry | None, trusted: bool = True,
        phase: Phase = Phase.FRESH,
    ) -> Request | None:  # fmt: skip
        cleaned = self._followable(source, url)
        if cleaned is None:
            return None
        url = cleaned
        key = url_key(url)
        self.source_stats.inc(source.name, Count.DISCOVERED)
        self.frontier.note_entry(key, entry)
        marker = entry.changed_marker if entry is not None else None
        document = via["url"]
        state = self.run_state
        state.links.see(key, marker, document)
        if not trusted:
            marker = None  # remembered for next time, but it tells nothing now
        # Skipped as known via another document, but this one says it changed.
        if self.frontier.skipped(key) and state.links.changed(key, marker, document) and self.frontier.reopen(key):
            self.source_stats.inc(source.name, Count.UNCHANGED, -1)
        if self.frontier.seen(key):
            self.source_stats.inc(source.name, Count.LINKS_DUPLICATE)
            return None
        dated = article_dates(entry, url)
        if self._outside_window(source, dated, phase):
            self.source_stats.inc(source.name, Count.LINKS_BEFORE_SINCE)
            return None
        if state.frontier.waiting(key):
            # It failed on an earlier run and its pause is not over; the frontier brings it.
            self.frontier.see([key])
            self.source_stats.inc(source.name, Count.LINKS_RETRY_LATER)
            return None
        known = state.links.known(key, marker, document)
        if known is not None:
            # Delivered before and, as far as the feed or sitemap can tell, unchanged.
            self.frontier.skip_known(key, known)
            state.links.skip_known(key, known)
            self.source_stats.inc(source.name, Count.UNCHANGED if known else "links/known_non_article")
            return None
        self.frontier.fresh_links += 1
        self.frontier.see([key])
        if not self.full or state.links.known(key, marker, document, full=False) is None:
            # Owed until it comes (-a full=1 fetches delivered pages again, but owes none of them).
            owed = FrontierEntry(key, url, source.name, via["kind"], via["url"], entry, marker, dated and dated[0])
            state.frontier.owe(owed)
        if self.frontier.quota_left(source) <= 0:
            # Owed: the next runs ask for it (crawler/frontier/book.py).
            self.source_stats.inc(source.name, Count.LINKS_OVER_MAX_ARTICLES)
            return None
        return self._fetch(source, url, key, via, entry, marker, BACKLOG_PRIORITY if phase == Phase.BACKFILL else 0)

    def _outside_window(self, source: Source, dated: tuple[float, float] | None, phase: Phase) -> bool:
        """Whether the document dates the article before the source's ``since`` (or, in a
        backfill's archives, after its ``until``)."""
        if dated is None:
            return False
        window = self._window(source)
        if window.since is not None and dated[1] < window.since:
            return True
        return phase == Phase.BACKFILL and window.until is not None and dated[0] >= window.until

    def _fetch(
        self, source: Source, url: str, key: str, via: dict[str, str], entry: FeedEntry | None, marker: str | None,
        priority: int = 0,
    ) -> Request:  # fmt: skip
        self.frontier.requested(key, source.name)
        self.source_stats.inc(source.name, Count.ARTICLES_REQUESTED)
        # The workers start with the first article to fetch, while it downloads: a run
        # over an unchanged site never starts the forkserver (2 s of CPU, ~150 MiB),
        # and cron, which waits for the output pipes to close, never waits for it.
        self.extractor.start()
        return Request(
            url,
            callback=self.parse_article,
            errback=self.on_article_error,
            priority=priority,
            cb_kwargs={"source": source.name, "via": via, "key": key, "marker": marker, "entry": entry},
            meta={"source": source.name, "download_slot": self._slots[source.name]},
            # Articles are de-duplicated above; the dupefilter would also swallow a
            # redirect loop silently instead of letting REDIRECT_MAX_TIMES report it.
            dont_filter=True,
        )

    # --- articles ------------------------------------------------------------

    async def parse_article(
        self,
        response: Response,
        source: str,
        via: dict[str, str],
        key: str,
        marker: str | None = None,
        entry: FeedEntry | None = None,
    ) -> list[ArticleItem | Request]:
        src = self._by_name[source]
        state = self.run_state
        self.frontier.answered(key)
        problem = _not_html(response)
        if problem:
            self.reject(source, response.url, Rejected(Refusal.NOT_HTML, problem))
            state.links.note_rejected(key, "not_html")
            return []
        result = await self.extract_page(response, source, self.frontier.entry(key) or entry)
        if isinstance(result, Rejected):
            if (again := self.render_again(response, source, result)) is not None:
                self.frontier.asked_again(key, source)
                return [again]
            self.reject(source, response.url, result, rendered=bool(response.meta.get(RENDER_META)))
            state.links.note_rejected(
                key, result.reason, self._owed(source, response.request.url, key, via, entry, marker)
            )
            return []
        item = self.article_item(src, response, via, result, None)
        state.links.note_fetch(item.id, key)
        if (archive := WarcArchive.of(self.crawler)) is not None:
            item.warc = await archive.pointer(response)
        self.offer_story(item, result)
        self.check.add(source, "article", response.url, True, f"HTTP {response.status}, article extracted")
        return [item]

    async def extract_page(self, response: Response, source: str, entry: FeedEntry | None = None) -> Article | Rejected:
        """The article in a page, extracted in a worker process (the reactor keeps downloading)."""
        src = self._by_name[source]
        problem = _not_html(response)
        if problem:
            return Rejected(Refusal.NOT_HTML, problem)
        content_type = response.headers.get("Content-Type")
        options = ExtractionOptions(
            url=response.url,
            language_hint=src.language,
            rules=src.extract.as_dict(),
            entry=entry,
            content_type=content_type.decode("latin-1") if content_type else None,
            fingerprint=Stories.of(self.crawler) is not None,
        )
        return await self.extractor.extract(response.body, options)

    def article_item(
        self, src: Source, response: Response, via: dict[str, str], result: Article, found_by: FoundBy | None
    ) -> ArticleItem:
        """The record of an article read from ``response``, its links cleaned by the sites' rules;
        its answer noted for the checks (an archive's copy gives them no validators)."""
        if self.site_rules is not None:
            clean = self.site_rules.clean
            editions = tuple((code, clean(href)) for code, href in result.editions)
            result = replace(result, canonical_url=clean(result.canonical_url), editions=editions)
        item = self.build_item(src, response.url, via, result)
        validators = (None, None) if found_by == FoundBy.ARCHIVE else validators_of(response)
        self.run_state.checks.note_answer(item.id, response.url, validators, found_by)
        return item

    def offer_story(self, item: ArticleItem, article: Article) -> None:
        if (stories := Stories.of(self.crawler)) is not None:
            stories.offer(item, article.fingerprint)

    def slot_of(self, source: str) -> str:
        return self._slots[source]

    # --- a backfill from web archives (crawler/spiders/archive_backfill.py) ----------------

    async def parse_archived(self, response: Response, source: str, key: str) -> list[ArticleItem]:
        assert self.backfill is not None
        return await self.backfill.parse(response, source, key)

    def on_archived_error(self, failure: Failure) -> None:
        assert self.backfill is not None
        self.backfill.failed(failure)

    # --- checks of delivered articles (crawler/spiders/revisits.py) -----------------------

    async def parse_revisit(self, response: Response, source: str, check: DueCheck) -> list[Any]:
        return await self.revisits.parse(response, source, check)

    def on_revisit_error(self, failure: Failure) -> None:
        self.revisits.failed(failure)

    async def parse_probe(
        self, response: Response, check: DueCheck, answer: dict[str, Any], article: Article | None
    ) -> list[ArticleItem]:
        return await self.revisits.probed(response, check, answer, article)

    async def on_probe_error(self, failure: Failure) -> list[ArticleItem]:
        return await self.revisits.probe_failed(failure)

    @staticmethod
    def build_item(source: Source, url: str, via: dict[str, str], article: Article) -> ArticleItem:
        return ArticleItem(
            id=article_id(article.canonical_url),
            source=source.name,
            url=url,
            canonical_url=article.canonical_url,
            discovered_via=dict(via),
            title=article.title,
            text=article.text,
            summary=article.summary,
            author=article.author,
            published=article.published,
            fetched_at=utc_timestamp(),
            language=article.language,
            language_confidence=article.language_confidence,
            tags=list(article.tags),
            content_hash=article.content_hash,
            editions=dict(article.editions),
        )

    def render_again(self, response: Response, source: str, rejected: Rejected) -> Request | None:
        """The same request, to the browser: a plain page that looks built by scripts or a script
        challenge, of a source with ``render: auto``. None for any other refusal."""
        src = self._by_name.get(source)
        if src is None or src.fetch.render is not RenderMode.AUTO or not rejected.needs_browser:
            return None
        if response.meta.get(RENDER_META):
            return None
        self.source_stats.inc(source, Count.RENDER_AUTO)
        logger.info("%s: %s needs a browser (%s); rendering it", source, response.url, rejected.detail)
        # The plain request had its retries; the browser waits out a challenge itself.
        meta = {**response.request.meta, RENDER_META: True, "dont_retry": True}
        return response.request.replace(meta=meta, dont_filter=True)

    def reject(self, source: str, url: str, rejected: Rejected, rendered: bool = False) -> None:
        if rendered and rejected.reason is Refusal.BLOCKED:
            self.source_stats.inc(source, Count.RENDER_STILL_BLOCKED)
        elif rejected.needs_browser and not rendered:
            self.source_stats.inc(source, Count.RENDER_NEEDED)
        self.source_stats.not_emitted(source, rejected.reason)
        logger.info("%s: no article at %s: %s", source, url, rejected.detail)
        self.check.add(source, "article", url, False, f"no article ({rejected.reason}): {rejected.detail}")

    # --- errors --------------------------------------------------------------

    def on_discovery_error(self, failure: Failure) -> list[Request]:
        request = failure.request  # type: ignore[attr-defined]
        cb = request.cb_kwargs
        source, kind = cb.get("source", "?"), DiscoveryKind(cb.get("kind", DiscoveryKind.FEED))
        reason = failure_reason(failure)
        if reason in ("http_404", "http_410") and cb.get("day") and cb["day"] >= utc_timestamp()[:10]:
            # Today's or tomorrow's page of a date template that the site has not made yet.
            self.source_stats.inc(source, Count.DISCOVERY_NOT_YET)
            logger.debug("%s: %s %s is not there yet (%s)", source, kind, request.url, reason)
        else:
            self.source_stats.discovery_failed(source, reason)
            self.run_state.documents.failed(request.url)
            text = failure_text(failure)
            self.check.add(source, kind, request.url, False, f"cannot fetch: {text}")
            logger.warning("%s: cannot fetch %s %s: %s", source, kind, request.url, text)
        src = self._by_name.get(source)
        return self._answered(src, request.url, cb.get("phase") or Phase.FRESH) if src is not None else []

    def on_article_error(self, failure: Failure) -> list[Request]:
        request = failure.request  # type: ignore[attr-defined]
        cb = request.cb_kwargs
        source = cb.get("source", "?")
        if (again := self._challenged(failure, source)) is not None:
            self.frontier.asked_again(cb.get("key"), source)
            return [again]
        reason = failure_reason(failure)
        self.source_stats.not_emitted(source, reason)
        if reason.startswith("http_"):
            self.source_stats.inc(source, Count.HTTP_ERRORS)
        via, key = cb.get("via") or {}, cb.get("key")
        self.frontier.answered(key)
        redirects = request.meta.get("redirect_urls") or []
        original = redirects[0] if redirects else request.url
        owed = self._owed(source, original, key, via, cb.get("entry"), cb.get("marker"))
        if key is not None and (known := self.run_state.frontier.get(key)) is not None and known.attempts:
            self.source_stats.inc(source, Count.RETRY_FAILED)
        self.run_state.links.note_rejected(key, reason, owed, retry_after(failure, self.run_state.now))
        where = f"{original} (redirected to {request.url})" if redirects else request.url
        text = failure_text(failure)
        logger.info("%s: cannot fetch article %s: %s", source, where, text)
        self.check.add(source, "article", where, False, f"cannot fetch: {text}")
        return []

    def _challenged(self, failure: Failure, source: str) -> Request | None:
        """A script challenge that answered with an error status (StormWall, Cloudflare and
        DDoS-Guard answer 403 or 503): to the browser, for a source with ``render: auto``."""
        if not failure.check(HttpError) or failure.value.response.status not in _CHALLENGE_STATUSES:  # type: ignore[union-attr]
            return None
        response = failure.value.response  # type: ignore[union-attr]
        challenge = is_script_challenge(response.body)
        if challenge and response.meta.get(RENDER_META):
            self.source_stats.inc(source, Count.RENDER_STILL_BLOCKED)  # the browser did not pass it
            return None
        src = self._by_name.get(source)
        if challenge and src is not None and src.fetch.render is RenderMode.OFF:
            self.source_stats.inc(source, Count.RENDER_NEEDED)
        rejected = Rejected(Refusal.BLOCKED, f"HTTP {response.status}, a script challenge", needs_browser=challenge)
        return self.render_again(response, source, rejected)

    @staticmethod
    def _owed(
        source: str, url: str, key: str | None, via: dict[str, str], entry: FeedEntry | None, marker: str | None
    ) -> FrontierEntry | None:
        """The frontier entry of an article request, should the frontier not have it yet."""
        if key is None:
            return None
        kind = DiscoveryKind(via.get("kind", DiscoveryKind.FEED))
        return FrontierEntry(key, url, source, kind, via.get("url", ""), entry, marker)


def _parsed(name: str, value: str, parsed: _T | str) -> _T:
    """A spider argument its parser read, or ValueError with the parser's reason (the crawl
    command checks them first; this is for a spider started otherwise)."""
    if isinstance(parsed, str):
        raise ValueError(f"-a {name}={value}: {parsed}")
    return parsed


def _since_arg(value: str | None) -> Since | None:
    return _parsed("since", value, parse_since(value)) if value else None


def _until_arg(value: str | None) -> float | None:
    """-a until=DAY: the backfill reads that day and none after (the end of the day, as a Unix time)."""
    if not value:
        return None
    day = _parsed("until", value, parse_until(value))
    return until_end(day)


def article_dates(entry: FeedEntry | None, url: str) -> tuple[float, float] | None:
    """When the document (its entry's date, else the URL) says the article appeared: (first, last)."""
    moment = unix_time(entry.published or entry.updated) if entry is not None else None
    if moment is not None:
        return moment, moment
    period = url_period(url)
    return (period.start(), period.end() - 1) if period is not None else None


def _not_html(response: Response) -> str | None:
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1").split(";")[0].strip().lower()
    head = response.body[:1024].lstrip()
    if head.startswith(_NOT_HTML_MAGIC):
        return f"binary content ({content_type or 'no Content-Type'})"
    if content_type in _HTML_TYPES:
        return None
    if content_type and not content_type.startswith("text/") and content_type not in ("application/octet-stream",):
        return f"Content-Type {content_type} is not HTML"
    lowered = head[:512].lower()
    if b"<html" in lowered or b"<!doctype html" in lowered or b"<head" in lowered or b"<body" in lowered:
        return None
    return f"does not look like HTML ({content_type or 'no Content-Type'})"
