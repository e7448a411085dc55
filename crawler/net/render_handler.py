"""The http and https download handler: Scrapy's own for every plain request, and the
browser (crawler/net/browser.py) for a request marked to render.

Playwright and its browser cost ~100 MiB and a second of start-up: they are imported and
built only when the sources file has a source with ``render: true`` or ``auto``, and the
browser itself starts at the first page that needs it. Scrapy builds one handler per
scheme; both share the crawl's one browser.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from crawler.config.fetch_options import RenderMode
from crawler.config.sources_file import Source, SourcesError, load_sources
from crawler.net.source_fetch import RENDER_META

if TYPE_CHECKING:
    from crawler.net.browser import BrowserRenderer

__all__ = ["RenderingHandler", "rendering_sources"]

_RENDERERS: weakref.WeakKeyDictionary[Crawler, BrowserRenderer] = weakref.WeakKeyDictionary()


def rendering_sources(settings: Any) -> dict[str, Source]:
    """The enabled sources whose pages may need the browser, by name."""
    try:
        config = load_sources(settings.get("SOURCES_FILE"))
    except SourcesError:
        return {}  # the spider reports the file's problems and does not start
    return {source.name: source for source in config.enabled if source.fetch.render is not RenderMode.OFF}


class RenderingHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.browser: BrowserRenderer | None = _RENDERERS.get(crawler)
        if self.browser is None and (sources := rendering_sources(crawler.settings)):
            from crawler.net.browser import BrowserRenderer

            self.browser = _RENDERERS[crawler] = BrowserRenderer(crawler, sources)

    async def download_request(self, request: Request) -> Response:
        if self.browser is not None and request.meta.get(RENDER_META):
            return await self.browser.render(request)
        return await super().download_request(request)

    async def close(self) -> None:
        await super().close()
        if self.browser is not None:
            await self.browser.shut()
