"""A backfill from web archives (crawler/archives): WARC files in place of the live sites.

``scrapy sources backfill`` runs the crawl with ``-a archives=[...]``: no feed, sitemap or page
of any site is asked for. Reader processes keep the archived pages a selected source takes,
captured inside the window; each becomes a request the ``ArchiveReplay`` downloader middleware
answers from the archive, and from there it is a page like any other: the extraction workers,
the page's own date against the window, the state's decision (delivered before with the same
text: not emitted; another text: a revision, ``change.found_by: archive``), stories,
translation and delivery.

A file is done once every page it gave has been dealt with; that is written on the file's
record in the state (its ``cursor``, per source and window) with the run's delivery, so a
backfill killed or stopped half-way reads again only the files it had not finished, and the
state's memory of what was delivered keeps their pages from coming out twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler import settings as defaults
from crawler.archives.readers import FileRead, ReaderConfig, read_archives
from crawler.archives.selection import OUTSIDE_WINDOW
from crawler.archives.warc_pages import RECORDS, ArchivedPage
from crawler.config.sources_file import Source
from crawler.evidence.changes import FoundBy
from crawler.items import ArticleItem
from crawler.net.failures import failure_reason, failure_text
from crawler.parsing.dates import unix_time, utc_timestamp
from crawler.parsing.records import Article, Rejected
from crawler.parsing.urls import url_key
from crawler.state.runstate import RunState
from crawler.stats import Count, SourceStats
from crawler.workers.pool import ExtractionPool, default_workers

__all__ = ["ARCHIVE_KIND", "ArchiveBackfill", "Window", "archive_key", "archive_locations", "location_name"]

logger = logging.getLogger(__name__)

# discovered_via.kind of an article read from a web archive.
ARCHIVE_KIND = "archive"
# Archived pages between the readers and the end of their callbacks at once: enough to keep the
# extraction workers busy, few enough that a backfill's memory stays that of a crawl.
IN_FLIGHT = 48
STAT = "archive/"

Window = tuple[float | None, float | None]  # [since, until) as Unix times; None: open


class Spider(Protocol):
    """What a backfill needs of the sources spider."""

    crawler: Crawler
    source_stats: SourceStats
    sources: tuple[Source, ...]
    extractor: ExtractionPool

    @property
    def run_state(self) -> RunState: ...
    def source(self, name: str) -> Source | None: ...
    def cleaned(self, url: str) -> str: ...
    async def extract_page(self, response: Response, source: str) -> Article | Rejected: ...
    def article_item(
        self, source: Source, response: Response, via: dict[str, str], article: Article, found_by: FoundBy | None
    ) -> ArticleItem: ...
    def offer_story(self, item: ArticleItem, article: Article) -> None: ...
    def reject(self, source: str, url: str, rejected: Rejected) -> None: ...
    async def parse_archived(self, response: Response, **kwargs: Any) -> list[ArticleItem]: ...
    def on_archived_error(self, failure: Failure) -> None: ...


def archive_locations(value: str) -> list[str]:
    """``-a archives=``: a JSON list of WARC files (paths or URLs), ``@FILE`` holding such a list
    (a long one: scrapy sources backfill writes it), or a single file."""
    text = value.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"-a archives=@…: cannot read {text[1:]} ({exc.strerror or exc})") from None
    if text.startswith("["):
        locations = json.loads(text)
        if not isinstance(locations, list) or not all(isinstance(item, str) and item for item in locations):
            raise ValueError("-a archives=…: a JSON list of WARC file paths or URLs")
        return list(dict.fromkeys(locations))
    return [text] if text else []


def location_name(location: str) -> str:
    """A WARC file as records name it: its URL, or its absolute path as a file: URI."""
    if location.startswith(("http://", "https://")):
        return location
    return Path(location).resolve().as_uri()


def archive_key(location: str) -> str:
    """What the state knows a file by: a Common Crawl file by its path under ``crawl-data/``
    (the same file on Common Crawl's host, a mirror or a local copy), any other by its name."""
    name = location_name(location)
    _, found, rest = name.partition("/crawl-data/")
    return f"commoncrawl:crawl-data/{rest}" if found else name


def _covers(done: list[Any], window: Window) -> bool:
    """Whether a window a file was read for already holds ``window``."""
    since, until = window
    for entry in done:
        if not (isinstance(entry, list) and len(entry) == 2):
            continue
        done_since, done_until = entry
        if (done_since is None or (since is not None and done_since <= since)) and (
            done_until is None or (until is not None and done_until >= until)
        ):
            return True
    return False


class ArchiveBackfill:
    def __init__(self, spider: Spider, locations: list[str], window: Window):
        self.spider = spider
        self.locations = locations
        self.window = window
        self._in_flight = 0
        self._room = asyncio.Event()
        self._pending: Counter[str] = Counter()  # pages of a file still in flight
        self._read: dict[str, FileRead] = {}  # files read whole, waiting for their pages
        self._todo: dict[str, set[str]] = {}  # file -> the sources it is still to be read for
        # URLs (keys) whose capture is on its way or gave an article: a later capture of one is a
        # duplicate. A capture that gave none (refused, dated outside the window) leaves room.
        self._taken: set[str] = set()
        # Canonical URLs (keys) of the articles this backfill has extracted: a page declaring one
        # of them is a copy (AMP, a mobile host, another path) and is not extracted again.
        self._articles: set[str] = set()

    @property
    def stats(self) -> Any:
        return self.spider.crawler.stats

    # --- the files --------------------------------------------------------------------------

    def _plan(self) -> list[str]:
        """The files still to read for some selected source in this window."""
        documents = self.spider.run_state.documents
        records = documents.records(archive_key(location) for location in self.locations)
        todo = []
        for location in self.locations:
            record = records[archive_key(location)]
            done = ((record.cursor or {}).get("archive") or {}) if record is not None else {}
            sources = {s.name for s in self.spider.sources if not _covers(done.get(s.name) or [], self.window)}
            if sources:
                todo.append(location)
                self._todo[location] = sources
            else:
                self.stats.inc_value(f"{STAT}files/done_before")
        self.stats.set_value(f"{STAT}files/listed", len(self.locations))
        if len(todo) < len(self.locations):
            logger.info("Backfill: %d of %d WARC files were read before for this window; %d to read",
                        len(self.locations) - len(todo), len(self.locations), len(todo))  # fmt: skip
        return todo

    def _reader_config(self) -> ReaderConfig:
        settings = self.spider.crawler.settings
        readers = settings.getint("ARCHIVE_READERS", defaults.ARCHIVE_READERS)
        return ReaderConfig(
            sources=self.spider.sources,
            max_size=settings.getint("DOWNLOAD_MAXSIZE", defaults.DOWNLOAD_MAXSIZE),
            since=self.window[0],
            timeout=settings.getfloat("DOWNLOAD_TIMEOUT", defaults.DOWNLOAD_TIMEOUT),
            readers=readers if readers > 0 else default_workers(),
            start_method="forkserver" if self.spider.extractor.workers else "spawn",
        )

    async def start(self) -> AsyncIterator[Request]:
        todo = self._plan()
        if not todo:
            return
        # Readers fork from the extraction forkserver, if there is one: it starts first.
        self.spider.extractor.start()
        async for message in read_archives(todo, self._reader_config()):
            if isinstance(message, FileRead):
                self._file_read(message)
                continue
            for page in message.pages:
                request = self._request(page)
                if request is None:
                    continue
                while self._in_flight >= IN_FLIGHT:
                    self._room.clear()
                    await self._room.wait()
                self._in_flight += 1
                self._pending[page.file] += 1
                yield request

    def _file_read(self, read: FileRead) -> None:
        counts = Counter(read.counts)
        self.stats.inc_value(f"{STAT}records", counts.pop(RECORDS, 0))
        for reason, count in counts.items():
            self.stats.inc_value(f"{STAT}skipped/{reason}", count)
        self.stats.inc_value(f"{STAT}read_seconds", round(read.seconds, 3))
        name = Path(read.file).name or read.file
        if read.broken:
            self.stats.inc_value(f"{STAT}files/broken")
            logger.warning("WARC %s: %s; the pages before it are kept", read.file, read.broken)
        if read.missing:
            self.stats.inc_value(f"{STAT}files/missing")
            logger.warning("WARC %s is missing (%s); the next backfill asks for it again", read.file, read.problem)
        elif not read.complete:
            self.stats.inc_value(f"{STAT}files/failed")
            logger.warning("WARC %s could not be read to its end (%s); the next backfill reads it again",
                           read.file, read.problem)  # fmt: skip
        else:
            self.stats.inc_value(f"{STAT}files/read")
            self._read[read.file] = read
            logger.info("WARC %s: %d records read in %.1f s", name, read.counts.get(RECORDS, 0), read.seconds)
        self._maybe_done(read.file)

    def _maybe_done(self, location: str) -> None:
        """A file read whole whose pages have all been dealt with is done for its sources."""
        if self._pending[location] or location not in self._read:
            return
        del self._read[location]
        documents, key = self.spider.run_state.documents, archive_key(location)
        cursor = dict(documents.cursor(key) or {})
        done = dict(cursor.get("archive") or {})
        for source in self._todo.get(location, ()):
            done[source] = [*(done.get(source) or []), list(self.window)][-8:]
        cursor["archive"] = done
        documents.set_cursor(key, cursor)
        logger.info("WARC %s: every page dealt with; recorded as read with this run's delivery", location)

    # --- the pages --------------------------------------------------------------------------

    def _request(self, page: ArchivedPage) -> Request | None:
        spider = self.spider
        source = spider.source(page.source)
        if source is None:  # the readers take only the spider's sources
            return None
        if source.name not in self._todo.get(page.file, ()):
            self.stats.inc_value(f"{STAT}skipped/read_before")
            return None
        url = spider.cleaned(page.cleaned)  # the sites' Clean-param rules, learnt by live runs
        key = url_key(url)
        spider.source_stats.inc(source.name, Count.DISCOVERED)
        self.stats.inc_value(f"{STAT}pages")
        if key in self._taken or (page.canonical is not None and url_key(page.canonical) in self._articles):
            # Captured again (in this file or another): the first capture read speaks for it.
            spider.source_stats.inc(source.name, Count.LINKS_DUPLICATE)
            self.stats.inc_value(f"{STAT}duplicate_captures")
            return None
        self._taken.add(key)
        spider.source_stats.inc(source.name, Count.ARTICLES_REQUESTED)
        return Request(
            url, callback=spider.parse_archived, errback=spider.on_archived_error, dont_filter=True,
            cb_kwargs={"source": source.name, "key": key},
            meta={"archived": page, "source": source.name, "dont_redirect": True, "dont_obey_robotstxt": True},
        )  # fmt: skip

    def _finished(self, page: ArchivedPage | None) -> None:
        self._in_flight -= 1
        self._room.set()
        if page is not None:
            self._pending[page.file] -= 1
            self._maybe_done(page.file)

    def _inside(self, article: Article, page: ArchivedPage) -> bool:
        """The page's own date (else its capture's) inside the window."""
        moment = unix_time(article.published) if article.published else None
        moment = moment if moment is not None else page.captured
        since, until = self.window
        if moment is None:
            return True
        return (since is None or moment >= since) and (until is None or moment < until)

    async def parse(self, response: Response, source: str, key: str) -> list[ArticleItem]:
        page: ArchivedPage = response.meta["archived"]
        try:
            return await self._parse(response, page, source, key)
        finally:
            self._finished(page)

    async def _parse(self, response: Response, page: ArchivedPage, source: str, key: str) -> list[ArticleItem]:
        spider = self.spider
        src = spider.source(source)
        assert src is not None
        result = await spider.extract_page(response, source)
        if isinstance(result, Rejected):
            spider.reject(source, response.url, result)
            self._taken.discard(key)
            return []
        if not self._inside(result, page):
            spider.source_stats.not_emitted(source, OUTSIDE_WINDOW)
            self._taken.discard(key)
            return []
        via = {"kind": ARCHIVE_KIND, "url": location_name(page.file)}
        item = spider.article_item(src, response, via, result, FoundBy.ARCHIVE)
        self._articles.add(url_key(item.canonical_url))
        # A page the live crawl still owes (it failed there) is settled by its archived copy.
        spider.run_state.links.note_fetch(item.id, key)
        item.fetched_at = utc_timestamp(page.captured) if page.captured is not None else item.fetched_at
        item.warc = {"file": via["url"], "offset": page.offset, "length": page.length, "record_id": page.record_id}
        spider.offer_story(item, result)
        return [item]

    def failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source = request.cb_kwargs.get("source", "?")
        reason = failure_reason(failure)
        self.spider.source_stats.not_emitted(source, reason)
        logger.warning("%s: archived page %s not read: %s", source, request.url, failure_text(failure))
        self._finished(request.meta.get("archived"))
