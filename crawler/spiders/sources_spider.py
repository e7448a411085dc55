"""Spider `sources`: discovery from feeds, sitemaps and listings, then article requests.

The spider decides what to fetch and hands each article page to the pure
extraction function; everything after that (de-duplication by canonical URL,
translation, state, output) happens in item pipelines.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.config.sources_file import Source, SourcesError, load_sources, select_sources
from crawler.items import ArticleItem
from crawler.net.failures import failure_reason, failure_text
from crawler.net.politeness import download_slots, site_slots
from crawler.net.siterules import SiteRules
from crawler.parsing.article import Article, ExtractionOptions, Refusal, Rejected
from crawler.parsing.dates import utc_timestamp
from crawler.parsing.feeds import DiscoveryError, FeedEntry, ParsedDocument, newest_entry, parse_discovery_document
from crawler.parsing.markers import is_uniform
from crawler.parsing.urls import MAX_URL_LENGTH, article_id, clean_url, host_of, url_key
from crawler.spiders.listing import listing_links, next_page_url
from crawler.state.runstate import RunState, run_names
from crawler.stats import SourceStats
from crawler.stories.extension import Stories
from crawler.workers.memory import tune_malloc
from crawler.workers.pool import ExtractionPool, default_workers

logger = logging.getLogger(__name__)
tune_malloc()

# Feeds and sitemaps go first so article requests never starve discovery.
DISCOVERY_PRIORITY = 10
MAX_SITEMAP_DEPTH = 4
# The sitemap protocol allows 50 MB uncompressed; articles need far less.
DISCOVERY_MAXSIZE = 50 * 1024 * 1024

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_NOT_HTML_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS", b"ID3")


def _is_true(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# Pages of a paged listing or feed followed beyond the first, while they hold links not seen before.
DEFAULT_MAX_PAGES = 5
# Under JOBDIR, the requests a paused run still owed; kept in Scrapy's spider.state.
_JOB_INFLIGHT = "sources_crawler/inflight"
_JOB_DOCUMENTS = "sources_crawler/documents"


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
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.source_names = sources
        self.full = _is_true(full) if full is not None else False
        # -a limit=N: at most N articles per source this run (trying a source out).
        self.limit = int(limit) if limit else None
        # -a report=1: keep a step-by-step account (scrapy sources check prints it).
        self.collect_report = _is_true(report) if report is not None else False
        self.report: list[dict[str, Any]] = []
        self.sources: tuple[Source, ...] = ()
        self._by_name: dict[str, Source] = {}
        self._seen: set[str] = set()
        self._skipped: dict[str, str] = {}  # URL keys skipped as known -> article id
        self._entries: dict[str, FeedEntry] = {}
        self._requested: dict[str, int] = {}
        # Discovery documents requested this run (an index that lists itself is read once),
        # and the requests not yet answered (kept under JOBDIR when the run is paused).
        self._documents: set[str] = set()
        self._documents_inflight: set[str] = set()
        self._inflight: dict[str, str] = {}
        self._fresh_links = 0
        self._offsite_hosts: set[tuple[str, str]] = set()
        # Per source, the hosts of article links outside allowed_domains (scrapy sources check).
        self.offsite_links: dict[str, Counter[str]] = defaultdict(Counter)
        self._slots: dict[str, str] = {}
        self._site_rules: SiteRules | bool | None = None
        self._run_state: RunState | None = None
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
        spider.default_max_articles = crawler.settings.getint("SOURCES_MAX_ARTICLES", 0)
        spider.max_pages = crawler.settings.getint("DISCOVERY_MAX_PAGES", DEFAULT_MAX_PAGES)
        # scrapy sources check warns about a feed whose newest item is older than this.
        spider.frozen_days = crawler.settings.getfloat("CHECK_FROZEN_DAYS", 3)
        workers = crawler.settings.getint("EXTRACTION_WORKERS", -1)
        spider.extractor = ExtractionPool(
            default_workers() if workers < 0 else workers,
            timeout=crawler.settings.getfloat("EXTRACTION_TIMEOUT", 60),
            max_worker_mb=crawler.settings.getfloat("EXTRACTION_WORKER_MAX_MB", 80),
            stats=lambda: crawler.stats,
            preload=("crawler.stories.preload",) if crawler.settings.getbool("STORIES_ENABLED", True) else (),
        )
        crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        return spider

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
        # Scrapy's SpiderState extension pickles ``self.state`` after this, when a
        # JOBDIR is set: what was still owed then is in its request queue on disk.
        job = getattr(self, "state", None)
        if isinstance(job, dict):
            job[_JOB_INFLIGHT] = dict(self._inflight)
            job[_JOB_DOCUMENTS] = sorted(self._documents_inflight)

    def _resume(self) -> None:
        job = getattr(self, "state", None)
        if not isinstance(job, dict) or not (job.get(_JOB_INFLIGHT) or job.get(_JOB_DOCUMENTS)):
            return
        inflight: dict[str, str] = job.pop(_JOB_INFLIGHT, None) or {}
        documents: list[str] = job.pop(_JOB_DOCUMENTS, None) or []
        # Their requests come back from the queue on disk: they are not asked for twice.
        self._seen.update(inflight)
        self._inflight.update(inflight)
        self._documents.update(documents)
        self._documents_inflight.update(documents)
        for source in inflight.values():
            self._requested[source] = self._requested.get(source, 0) + 1
        self.run_state.resumed = True
        logger.info(
            "Resuming a paused run: %d article and %d feed/sitemap requests come from %s",
            len(inflight), len(documents), self.settings.get("JOBDIR"),
        )  # fmt: skip

    # --- discovery -----------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if not self.sources:
            logger.warning("No enabled sources in %s", self.settings.get("SOURCES_FILE"))
        self._resume()
        for source in self.sources:
            self.source_stats.touch(source.name)
            # Articles whose translation failed on an earlier run: translated again
            # from the stored record, without fetching the page.
            for item, keys in self.run_state.retry_items(source.name, self._quota_left(source)):
                self._seen.update(keys)
                self.source_stats.inc(source.name, "translation_retries")
                yield item
        for source in self.sources:
            requests = [
                *(self._discovery_request(source, url, "feed") for url in source.feeds),
                *(self._discovery_request(source, url, "sitemap") for url in source.sitemaps),
                *(self._discovery_request(source, listing.url, "listing") for listing in source.listings),
            ]
            for request in requests:
                if request is not None:
                    yield request

    def _discovery_request(
        self,
        source: Source,
        url: str,
        kind: str,
        depth: int = 0,
        parent: str | None = None,
        conditional: bool = True,
        root: str | None = None,
    ) -> Request | None:
        if conditional and url in self._documents:
            self.source_stats.inc(source.name, "discovery/repeated")
            return None
        self._documents.add(url)
        self._documents_inflight.add(url)
        self.run_state.expect(parent)
        return Request(
            url,
            callback=self.parse_listing if kind == "listing" else self.parse_discovery,
            errback=self.on_discovery_error,
            priority=DISCOVERY_PRIORITY,
            headers=self.run_state.conditional_headers(url) if conditional else {},
            cb_kwargs={"source": source.name, "kind": kind, "depth": depth, "parent": parent, "root": root or url},
            meta={
                "download_maxsize": DISCOVERY_MAXSIZE,
                "download_slot": self._slots[source.name],
                "source": source.name,
                "discovery": kind,
                "handle_httpstatus_list": [304],
            },
            # Documents are asked for again on every run, whatever a JOBDIR's
            # request filter remembers; _documents stops loops within a run.
            dont_filter=True,
        )

    def _not_modified(
        self, response: Response, source: Source, kind: str, depth: int, parent: str | None, root: str | None
    ) -> list[Request] | None:
        """None for a document with a body; for a 304, the requests that re-check what the
        document listed last time (child sitemaps, later pages), each with its own validators."""
        url = response.request.url
        self._documents_inflight.discard(url)
        if response.status != 304:
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
            self.run_state.document_fetched(
                url, etag.decode("latin-1") if etag else None, modified.decode("latin-1") if modified else None, parent
            )
            return None
        self.source_stats.inc(source.name, "discovery/not_modified")
        self.source_stats.answered(source.name, kind)
        children = self.run_state.document_unchanged(url, parent)
        requests: list[Request | None]
        if children is None:
            # What it lists is not known (state from an earlier release): read it in full.
            self._report(source.name, kind, url, True, "HTTP 304, but its contents are not known: fetching it in full")
            requests = [self._discovery_request(source, url, kind, depth, parent, conditional=False, root=root)]
        else:
            again = f"; {len(children)} documents it links to checked again" if children else ""
            self._report(source.name, kind, url, True, f"HTTP 304: unchanged since the last run{again}")
            requests = [self._child_request(source, url, child, kind, depth, root) for child, _ in children]
        self.run_state.settle(parent)
        return [request for request in requests if request is not None]

    def _child_request(
        self, source: Source, parent: str, url: str, kind: str, depth: int, root: str | None = None
    ) -> Request | None:
        if kind in ("listing", "feed"):  # a later page of a listing or a paged feed
            if depth >= self.max_pages:
                return None
            return self._discovery_request(source, url, kind, depth + 1, parent=parent, root=root)
        if depth >= MAX_SITEMAP_DEPTH:
            logger.warning("%s: %s nested deeper than %d levels; not followed", source.name, url, MAX_SITEMAP_DEPTH)
            return None
        if not source.allows(url):
            self.source_stats.inc(source.name, "discovery/offsite_sitemaps")
            if (source.name, host_of(url)) not in self._offsite_hosts:
                self._offsite_hosts.add((source.name, host_of(url)))
                logger.warning(
                    "%s: %s lists sitemaps on %s, outside allowed_domains; not followed (add the domain to read them)",
                    source.name, parent, host_of(url),
                )  # fmt: skip
            return None
        return self._discovery_request(source, url, kind, depth + 1, parent=parent)

    def parse_discovery(
        self, response: Response, source: str, kind: str, depth: int, parent: str | None = None, root: str | None = None
    ) -> Iterator[Request]:
        src = self._by_name[source]
        again = self._not_modified(response, src, kind, depth, parent, root)
        if again is not None:
            yield from again
            return
        url = response.request.url
        try:
            document = parse_discovery_document(response.body, response.url)
        except DiscoveryError as exc:
            self.source_stats.discovery_failed(source, exc.reason)
            logger.warning("%s: %s %s is unusable: %s", source, kind, response.url, exc)
            self._report(source, kind, url, False, f"HTTP {response.status}, but unusable: {exc}")
            # Not read: its validators must not make the next run skip it.
            self.run_state.document_incomplete(url)
            self.run_state.settle(parent)
            return
        self.source_stats.discovery_ok(source)
        self.source_stats.answered(source, kind, newest_entry(document.entries))
        self._report_document(source, kind, url, response.status, document)
        if document.skipped_links:
            self.source_stats.inc(source, "discovery/skipped_links", document.skipped_links)
        yield from self._sitemap_children(src, url, kind, depth, document)
        entries: Iterable[FeedEntry] = document.entries
        if document.kind in ("sitemap", "text"):
            entries = sorted(document.entries, key=lambda e: e.published or e.updated or "", reverse=True)
        via_kind = "feed" if document.kind in ("rss", "atom", "rdf", "jsonfeed") else "sitemap"
        fresh = self._fresh_links
        # A document that stamps one date on every entry says nothing about any of them.
        trusted = not is_uniform([entry.changed_marker for entry in document.entries])
        if not trusted:
            self.source_stats.inc(source, "discovery/uniform_dates")
        for entry in entries:
            request = self._article_request(src, entry.url, {"kind": via_kind, "url": url}, entry, trusted)
            if request is not None:
                yield request
        children = [(link.url, link.lastmod) for link in document.sitemaps]
        if document.next_page:
            next_page = self._next_page(src, url, document.next_page, kind, depth, fresh, root)
            if next_page is not None:
                children.append((document.next_page, None))
                yield next_page
        self.run_state.document_children(url, children)
        self.run_state.settle(parent)

    def _report_document(self, source: str, kind: str, url: str, status: int, document: ParsedDocument) -> None:
        if not self.collect_report:
            return
        moment = newest_entry(document.entries)
        newest = "no dates" if moment is None else utc_timestamp(moment)
        skipped = f", {document.skipped_links} unusable links skipped" if document.skipped_links else ""
        counts = f"{len(document.entries)} links, {len(document.sitemaps)} sitemaps"
        self._report(source, kind, url, True, f"HTTP {status}, {document.kind}: {counts} (newest {newest}){skipped}")
        age = None if moment is None else (time.time() - moment) / 86400
        if age is not None and age > self.frozen_days:
            detail = f"warning: its newest item is {age:.0f} days old: a frozen feed? Look for the site's current one"
            self._report(source, kind, url, True, detail, warning=True)

    def _sitemap_children(
        self, source: Source, url: str, kind: str, depth: int, document: ParsedDocument
    ) -> Iterator[Request]:
        # Newest child sitemaps first: they hold the newest articles.
        children = sorted(document.sitemaps, key=lambda link: link.lastmod or "", reverse=True)
        for child in children:
            if self._quota_left(source) <= 0:
                self.run_state.document_incomplete(url)
                break
            request = self._child_request(source, url, child.url, "sitemap", depth)
            if request is not None:
                yield request

    def _next_page(
        self, source: Source, url: str, next_url: str, kind: str, depth: int, fresh_before: int, root: str | None = None
    ) -> Request | None:
        """The next page of a listing or paged feed, when this page held links not seen before
        (newer articles may have pushed others onto it) and the quota allows."""
        if self._fresh_links == fresh_before or depth >= self.max_pages or self._quota_left(source) <= 0:
            return None
        if not source.allows(next_url) or next_url == url:
            return None
        self.source_stats.inc(source.name, "discovery/next_pages")
        return self._discovery_request(source, next_url, kind, depth + 1, parent=url, root=root)

    def parse_listing(
        self, response: Response, source: str, kind: str, depth: int, parent: str | None = None, root: str | None = None
    ) -> Iterator[Request]:
        src = self._by_name[source]
        again = self._not_modified(response, src, kind, depth, parent, root)
        if again is not None:
            yield from again
            return
        url = response.request.url
        if not isinstance(response, TextResponse):
            self.source_stats.discovery_failed(source, "not_html")
            logger.warning("%s: listing %s is not an HTML page", source, response.url)
            self._report(source, "listing", url, False, f"HTTP {response.status}, not an HTML page")
            self.run_state.document_incomplete(url)
            self.run_state.settle(parent)
            return
        self.source_stats.discovery_ok(source)
        self._report(source, "listing", url, True, f"HTTP {response.status}, HTML listing page")
        # The listing entries of this page (of its first page, for later ones); all of them
        # if it was reached another way (a redirect).
        listings = [item for item in src.listings if item.url == (root or url)] or list(src.listings)
        listing = listings[0]
        fresh = self._fresh_links
        for link in listing_links(response, [item.follow for item in listings]):
            request = self._article_request(src, link, {"kind": "listing", "url": url}, None)
            if request is not None:
                yield request
        children: list[tuple[str, str | None]] = []
        next_url = next_page_url(response, listing.next)
        if next_url:
            request = self._next_page(src, url, next_url, "listing", depth, fresh, root)
            if request is not None:
                children.append((next_url, None))
                yield request
        self.run_state.document_children(url, children)
        self.run_state.settle(parent)

    def _quota_left(self, source: Source) -> int:
        limit = source.max_articles or self.default_max_articles
        if self.limit:
            limit = min(limit or self.limit, self.limit)
        if not limit:
            return 1 << 30
        return limit - self._requested.get(source.name, 0)

    def _report(self, source: str, step: str, url: str, ok: bool, detail: str, warning: bool = False) -> None:
        if self.collect_report and len(self.report) < 1000:
            event = {"source": source, "step": step, "url": url, "ok": ok, "detail": detail, "warning": warning}
            self.report.append(event)

    def _followable(self, source: Source, url: str) -> str | None:
        """The link without tracking or Clean-param parameters, or None (counted) when the
        source does not take it."""
        if len(url) > MAX_URL_LENGTH:
            self.source_stats.inc(source.name, "links/too_long")
            return None
        url = clean_url(url)
        if self.site_rules is not None:
            url = self.site_rules.clean(url)
        if not source.allows(url):
            self.source_stats.inc(source.name, "links/offsite")
            self.offsite_links[source.name][host_of(url)] += 1
            return None
        if not source.follows(url):
            self.source_stats.inc(source.name, "links/not_followed")
            return None
        return url

    def _article_request(
        self, source: Source, url: str, via: dict[str, str], entry: FeedEntry | None, trusted: bool = True
    ) -> Request | None:
        cleaned = self._followable(source, url)
        if cleaned is None:
            return None
        url = cleaned
        key = url_key(url)
        self.source_stats.inc(source.name, "discovered")
        if entry is not None and (key not in self._entries or _richer(entry, self._entries[key])):
            self._entries[key] = entry
        marker = entry.changed_marker if entry is not None else None
        document = via["url"]
        state = self.run_state
        state.see(key, marker, document)
        if not trusted:
            marker = None  # remembered for next time, but it tells nothing now
        if key in self._skipped and state.changed(key, marker, document):
            # Skipped as known via another document, but this one says it changed.
            self._seen.discard(key)
            if self._skipped.pop(key):
                self.source_stats.inc(source.name, "unchanged", -1)
        if key in self._seen:
            self.source_stats.inc(source.name, "links/duplicate")
            return None
        known = state.known(key, marker, document)
        if known is not None:
            # Delivered before and, as far as the feed or sitemap can tell, unchanged.
            self._seen.add(key)
            self._skipped[key] = known
            state.skip_known(key, known)
            self.source_stats.inc(source.name, "unchanged" if known else "links/known_non_article")
            return None
        self._fresh_links += 1
        if self._quota_left(source) <= 0:
            self.source_stats.inc(source.name, "links/over_max_articles")
            state.document_incomplete(document)
            return None
        self._seen.add(key)
        self._inflight[key] = source.name
        state.expect(document)
        self._requested[source.name] = self._requested.get(source.name, 0) + 1
        self.source_stats.inc(source.name, "articles_requested")
        # The workers start with the first article to fetch, while it downloads: a run
        # over an unchanged site never starts the forkserver (2 s of CPU, ~150 MiB),
        # and cron, which waits for the output pipes to close, never waits for it.
        self.extractor.start()
        return Request(
            url,
            callback=self.parse_article,
            errback=self.on_article_error,
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
    ) -> list[ArticleItem]:
        src = self._by_name[source]
        state = self.run_state
        self._inflight.pop(key, None)
        state.settle(via.get("url"))
        problem = _not_html(response)
        if problem:
            self.reject(source, response.url, Rejected(Refusal.NOT_HTML, problem))
            state.note_rejected(key, "not_html", via.get("url"))
            return []
        content_type = response.headers.get("Content-Type")
        options = ExtractionOptions(
            url=response.url,
            language_hint=src.language,
            rules=src.extract.as_dict(),
            entry=self._entries.get(key) or entry,
            content_type=content_type.decode("latin-1") if content_type else None,
            fingerprint=Stories.of(self.crawler) is not None,
        )
        # In a worker process: the reactor keeps downloading meanwhile.
        result = await self.extractor.extract(response.body, options)
        if isinstance(result, Rejected):
            self.reject(source, response.url, result)
            state.note_rejected(key, result.reason, via.get("url"))
            return []
        if self.site_rules is not None:
            clean = self.site_rules.clean
            editions = tuple((code, clean(href)) for code, href in result.editions)
            result = replace(result, canonical_url=clean(result.canonical_url), editions=editions)
        item = self.build_item(src, response.url, via, result)
        state.note_fetch(item.id, key)
        if (stories := Stories.of(self.crawler)) is not None:
            stories.offer(item, result.fingerprint)
        self._report(source, "article", response.url, True, f"HTTP {response.status}, article extracted")
        return [item]

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

    def reject(self, source: str, url: str, rejected: Rejected) -> None:
        self.source_stats.not_emitted(source, rejected.reason)
        logger.info("%s: no article at %s: %s", source, url, rejected.detail)
        self._report(source, "article", url, False, f"no article ({rejected.reason}): {rejected.detail}")

    # --- errors --------------------------------------------------------------

    def on_discovery_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source = request.cb_kwargs.get("source", "?")
        reason = failure_reason(failure)
        self.source_stats.discovery_failed(source, reason)
        self._documents_inflight.discard(request.url)
        self.run_state.settle(request.cb_kwargs.get("parent"), done=False)
        kind, text = request.cb_kwargs.get("kind", "feed"), failure_text(failure)
        self._report(source, kind, request.url, False, f"cannot fetch: {text}")
        logger.warning("%s: cannot fetch %s %s: %s", source, kind, request.url, text)

    def on_article_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source = request.cb_kwargs.get("source", "?")
        reason = failure_reason(failure)
        self.source_stats.not_emitted(source, reason)
        if reason.startswith("http_"):
            self.source_stats.inc(source, "http_errors")
        via = request.cb_kwargs.get("via") or {}
        key = request.cb_kwargs.get("key")
        self._inflight.pop(key, None)
        self.run_state.settle(via.get("url"))
        self.run_state.note_rejected(key, reason, via.get("url"))
        redirects = request.meta.get("redirect_urls") or []
        where = f"{redirects[0]} (redirected to {request.url})" if redirects else request.url
        text = failure_text(failure)
        logger.info("%s: cannot fetch article %s: %s", source, where, text)
        self._report(source, "article", where, False, f"cannot fetch: {text}")


def _richer(new: FeedEntry, old: FeedEntry) -> bool:
    def score(entry: FeedEntry) -> int:
        return sum(bool(v) for v in (entry.title, entry.published, entry.summary, entry.author, entry.tags))

    return score(new) > score(old)


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
