"""Downloader middlewares that replace Scrapy's own: where those cost too much per page, and
where they refuse a request with a bare IgnoreRequest (re-raised typed, crawler/net/failures.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware as ScrapyHttpCompression
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as ScrapyOffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware as ScrapyRedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, HtmlResponse, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.robotstxt import RobotParser

from crawler.net.failures import ForbiddenByRobots, OffsiteRedirect, TooLarge, TooManyRedirects

__all__ = [
    "ArchiveReplay",
    "HttpCompressionMiddleware",
    "MetaRefreshMiddleware",
    "OffsiteMiddleware",
    "RedirectMiddleware",
    "RobotsTxtMiddleware",
]

# Headers of an archived answer that describe how it travelled, not what it is: the archive's
# payload is already de-chunked and decoded; a cookie it set is no one's now.
_TRAVEL_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length", "set-cookie", "connection"})


class ArchiveReplay:
    """A request carrying a page read from a web archive (``meta["archived"]``, a backfill's:
    crawler/spiders/archive_backfill.py) is answered with that page, before the network guard,
    robots.txt or the downloader see it: a backfill asks no live site anything."""

    def process_request(self, request: Request, spider: Any = None) -> Response | None:
        page = request.meta.get("archived")
        if page is None:
            return None
        headers = Headers([(name, value) for name, value in page.headers if name.lower() not in _TRAVEL_HEADERS])
        cls = responsetypes.from_args(headers=headers, url=request.url, body=page.body[:4096])
        return cls(url=request.url, status=200, headers=headers, body=page.body, request=request, flags=["archived"])


# Scrapy looks for the tag in the first 4,096 characters; in any ASCII-compatible
# encoding they fit in four times as many bytes.
_HEAD_BYTES = 4 * 4096


class MetaRefreshMiddleware(ScrapyMetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, without decoding every page to find none.

    Scrapy decodes the whole body to text (and sniffs its encoding) for every
    HTML response only to look for ``<meta http-equiv="refresh">`` in its first
    4,096 characters: about a tenth of the crawler process's CPU on a crawl of
    news pages, which are 100 KB and more. A page whose first bytes do not
    contain "refresh" at all cannot have the tag there.
    """

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if isinstance(response, HtmlResponse) and not _may_refresh(response):
            return response
        return super().process_response(request, response, *_spider_args(spider))


def _may_refresh(response: HtmlResponse) -> bool:
    head = response.body[:_HEAD_BYTES]
    if b"\x00" in head[:200]:
        return True  # UTF-16 or UTF-32: let Scrapy decode it
    return b"refresh" in head.lower()


class RobotsTxtErrorFilter(logging.Filter):
    """One warning line instead of an ERROR with a traceback when robots.txt cannot be fetched.

    A site that is down is not a bug in the crawler; cron mail should say which
    site and why, not print forty lines of Twisted frames. The failed request
    itself is then reported once by the spider with its reason.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "robots.txt not fetched before %(request)s: %(f_exception)s"
            args = record.args if isinstance(record.args, dict) else {}
            record.args = {"request": args.get("request", "?"), "f_exception": _brief(error)}
        return True


def _brief(error: BaseException) -> str:
    cause = error.__cause__ or error
    return f"{type(cause).__name__}: {str(cause)[:200]}"


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's, with typed refusals and a one-line warning for a robots.txt that cannot be fetched
    (Scrapy logs it as an ERROR with a traceback, from inside its own method)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsTxtMiddleware:
        middleware = super().from_crawler(crawler)
        quiet = RobotsTxtErrorFilter()
        robots_logger = logging.getLogger(ScrapyRobotsTxtMiddleware.__module__)
        crawler.signals.connect(lambda: robots_logger.addFilter(quiet), signal=signals.engine_started, weak=False)
        crawler.signals.connect(lambda: robots_logger.removeFilter(quiet), signal=signals.engine_stopped, weak=False)
        return middleware

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        with _retyped(ForbiddenByRobots):
            super().process_request_2(rp, request)


class OffsiteMiddleware(ScrapyOffsiteMiddleware):
    def process_request(self, request: Request, spider: Any = None) -> None:
        with _retyped(OffsiteRedirect):
            super().process_request(request, *_spider_args(spider))


# Validators of the URL asked for; Scrapy's redirect carries them to the next URL, whose 304
# would then speak for a page it is not (a conditional check of an article redirected home).
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")


class RedirectMiddleware(ScrapyRedirectMiddleware):
    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        # Scrapy's RedirectMiddleware refuses only one thing: one redirect too many.
        with _retyped(TooManyRedirects):
            result = super().process_response(request, response, *_spider_args(spider))
        if isinstance(result, Request) and result is not request:
            for name in _CONDITIONAL:
                result.headers.pop(name, None)
        return result


class HttpCompressionMiddleware(ScrapyHttpCompression):
    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        # Refused only when the decompressed body passes DOWNLOAD_MAXSIZE.
        with _retyped(TooLarge):
            return super().process_response(request, response, *_spider_args(spider))


def _spider_args(spider: Any) -> tuple[Any, ...]:
    # Scrapy < 2.14 passes the spider; newer versions warn when it is passed on.
    return (spider,) if spider is not None else ()


@contextmanager
def _retyped(kind: type[IgnoreRequest]) -> Iterator[None]:
    """Re-raise the bare IgnoreRequest of the wrapped Scrapy method as ``kind``."""
    try:
        yield
    except IgnoreRequest as exc:
        raise kind(*exc.args) from exc
