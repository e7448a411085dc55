"""Thin item pipeline stages; the logic they call lives in pure modules."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import ArticleItem, TranslationStatus, translation_record
from crawler.stats import SourceStats

__all__ = ["DuplicatePipeline", "EmittedPipeline", "TranslationStatusPipeline"]

logger = logging.getLogger(__name__)


class DuplicatePipeline:
    """One record per article per run, even when several URLs lead to it (AMP, aliases)."""

    def __init__(self, crawler: Crawler):
        self.stats = SourceStats(crawler)
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DuplicatePipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        if item.id in self.seen:
            self.stats.not_emitted(item.source, "duplicate")
            raise DropItem(f"duplicate of an article already in this run: {item.canonical_url}", log_level="DEBUG")
        self.seen.add(item.id)
        return item


class TranslationStatusPipeline:
    """Marks what the translation stage has to do: English needs nothing, others wait.

    Used when TRANSLATION_PROVIDER is ``none``: every article keeps its original
    text and the ``*_en`` fields stay null unless the article is already English.
    """

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.target = settings.get("TRANSLATION_TARGET", "en")
        self.languages = {
            code.strip() for code in settings.get("TRANSLATION_LANGUAGES", "uk,ru").split(",") if code.strip()
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TranslationStatusPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        if item.language == self.target:
            item.title_en, item.summary_en, item.text_en = item.title, item.summary, item.text
            item.translation = translation_record(
                TranslationStatus.NOT_NEEDED, source_language=item.language, target_language=self.target
            )
        else:
            item.translation = translation_record(
                TranslationStatus.SKIPPED, source_language=item.language, target_language=self.target
            )
        return item


class EmittedPipeline:
    """Last stage: counts what reaches the output."""

    def __init__(self, crawler: Crawler):
        self.stats = SourceStats(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EmittedPipeline:
        return cls(crawler)

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if isinstance(item, ArticleItem):
            self.stats.emitted(item.source)
        return item
