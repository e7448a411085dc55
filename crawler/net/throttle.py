"""AutoThrottle that never goes below a source's configured download_delay."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response
from scrapy.spiders import Spider

__all__ = ["PoliteAutoThrottle"]


class PoliteAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle clamps delays to the global DOWNLOAD_DELAY only; this
    one also keeps each host at or above its DOWNLOAD_SLOTS delay (set from the
    sources file), so a fast server cannot talk us into impoliteness."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.slot_minimum = {
            key: float(options.get("delay", 0.0))
            for key, options in crawler.settings.getdict("DOWNLOAD_SLOTS").items()
            if isinstance(options, dict)
        }

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is not None and slot is not None:
            minimum = self.slot_minimum.get(key, 0.0)
            if slot.delay < minimum:
                slot.delay = minimum
