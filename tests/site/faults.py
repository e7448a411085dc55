"""Test-only fault injection, loaded into a crawl with ``-s ADDONS={"tests.site.faults.PublishPause": 0}``.

Production code knows nothing of it: the add-on enables an extension that
listens to the project's own publishing signals and holds the reactor there,
which widens the windows around the rename of an output file enough for a
test to kill the crawl inside them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.output import signals


class PublishPauseExtension:
    def __init__(self, seconds: float):
        self.seconds = seconds

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublishPauseExtension:
        seconds = crawler.settings.getfloat("TEST_PUBLISH_PAUSE")
        if seconds <= 0:
            raise NotConfigured
        extension = cls(seconds)
        crawler.signals.connect(extension.pause, signal=signals.output_publishing)
        crawler.signals.connect(extension.pause, signal=signals.output_published)
        return extension

    def pause(self, path: Path, **kwargs: Any) -> None:
        time.sleep(self.seconds)


class PublishPause:
    """The add-on: ``-s TEST_PUBLISH_PAUSE=3`` holds each side of the rename 3 seconds."""

    def update_settings(self, settings: BaseSettings) -> None:
        settings["EXTENSIONS"][f"{__name__}.PublishPauseExtension"] = 0
