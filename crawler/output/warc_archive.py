"""The WARC archive of the crawl (``WARC_DIR``): every response Scrapy downloads (articles,
revisits, feeds, sitemaps, robots.txt, redirects) is written with the request that asked for
it (crawler/evidence/warc_files.py), so any record can be shown to be what its site served.

Responses are taken at Scrapy's ``response_downloaded`` signal, before any middleware has
decompressed or followed them, and written by one thread in the order they came (gzip costs
milliseconds a page, not for the reactor to pay). The spider asks ``pointer(response)`` for
where a page went, which its record carries as ``warc``.

The file being written is closed and renamed before the run's outputs are published (this
extension is built before Scrapy's feed exporter, so its ``spider_closed`` runs first); a
failure to write or close it fails the run's outputs too (``EXIT_OUTPUT_FAILED``): nothing of
the run is marked delivered, and no record points into a file that is not whole.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response

from crawler import settings as defaults
from crawler.evidence.warc_files import Exchange, WarcFiles, recover
from crawler.state.delivery import os_error_text
from crawler.state.runstate import RunState

__all__ = ["WarcArchive"]

logger = logging.getLogger(__name__)

META_KEY = "warc_record"
# Never written to a file: credentials the proxy settings add (issue: sites that resist).
_SECRET = frozenset({b"proxy-authorization"})


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        if name.lower() not in _SECRET
        for value in values
    ]


class WarcArchive:
    def __init__(self, crawler: Crawler, directory: Path, max_size: int):
        self.crawler = crawler
        self.directory = directory
        self.files = WarcFiles(directory, max_size)
        self.failed: BaseException | None = None
        self._thread_error: BaseException | None = None  # set by the writer thread
        self._reported = False
        self.written = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        where = crawler.settings.get("WARC_DIR", defaults.WARC_DIR)
        if not where:
            raise NotConfigured  # no reason given: Scrapy would log a WARNING on every run
        directory = Path(where)
        max_size = crawler.settings.getint("WARC_MAX_SIZE", defaults.WARC_MAX_SIZE)
        archive = cls(crawler, directory, max_size)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            recover(directory)
        except OSError as exc:
            archive._fail(exc)
        crawler.signals.connect(archive.downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(archive.close, signal=signals.spider_closed)
        return archive

    @classmethod
    def of(cls, crawler: Crawler) -> WarcArchive | None:
        return crawler.get_extension(cls)

    def downloaded(self, response: Response, request: Request, spider: object = None) -> None:
        if self.failed is not None or self._thread_error is not None:
            return
        exchange = Exchange(
            url=response.url, method=request.method, request_headers=_pairs(request.headers),
            status=response.status, response_headers=_pairs(response.headers), body=response.body,
            protocol=response.protocol or "HTTP/1.1", ip=str(response.ip_address) if response.ip_address else None,
            rendered="playwright" in response.flags,
        )  # fmt: skip
        future = self._pool.submit(self.files.write, exchange)
        future.add_done_callback(self._written)
        request.meta[META_KEY] = future

    def _written(self, future: Future[dict[str, Any]]) -> None:
        error = future.exception()
        if error is None:
            self.written += 1
        else:
            self._thread_error = error
            # Imported here: importing the reactor at module level would install the default
            # one before Scrapy installs the asyncio reactor.
            from twisted.internet import reactor

            reactor.callFromThread(self._fail, error)  # type: ignore[attr-defined]

    async def pointer(self, response: Response) -> dict[str, Any] | None:
        """Where the archive wrote ``response`` (None: no archive, or its write failed)."""
        future = response.meta.get(META_KEY)
        if not isinstance(future, Future):
            return None
        try:
            return await asyncio.wrap_future(future)
        except OSError:
            return None  # reported by _fail: the run's outputs fail with it

    def _fail(self, error: BaseException) -> None:
        if self.failed is None:
            self.failed = error
            self.crawler.stats.inc_value("warc/failed")
            logger.error("WARC archive %s cannot be written (%s)", self._target(), os_error_text(error))
        self._report()

    def _target(self) -> str:
        return str(self.files.current or self.directory)

    def _report(self) -> None:
        """The run's outputs fail with the archive (once the run state exists to be told)."""
        state = self.crawler.get_extension(RunState)
        if self.failed is not None and not self._reported and state is not None:
            self._reported = True
            state.delivery.output_failed(self._target(), self.failed)

    def close(self, spider: object = None, reason: str | None = None) -> None:
        """Drain the writer and close the file, before the outputs are published."""
        self._pool.shutdown(wait=True)
        if self._thread_error is not None:
            self._fail(self._thread_error)  # before the outputs are published, not after
        try:
            self.files.close()
        except OSError as exc:
            self._fail(exc)
        self._report()
        self.crawler.stats.set_value("warc/records", self.written)
        self.crawler.stats.set_value("warc/files", len(self.files.closed))
