"""Downloader middlewares that replace Scrapy's own where those cost too much per page."""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, Response

__all__ = ["MetaRefreshMiddleware"]

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
        args = (spider,) if spider is not None else ()
        return super().process_response(request, response, *args)


def _may_refresh(response: HtmlResponse) -> bool:
    head = response.body[:_HEAD_BYTES]
    if b"\x00" in head[:200]:
        return True  # UTF-16 or UTF-32: let Scrapy decode it
    return b"refresh" in head.lower()
