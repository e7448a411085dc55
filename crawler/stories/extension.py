"""The run's story assignments: the Scrapy side of crawler/stories/assign.py.

The spider hands each extracted article's fingerprint over (it was computed in an
extraction worker); the StoryPipeline asks for the article's story once the state has
decided the article is new or changed; the DeliveryPipeline takes the fingerprint and the
edition links to be recorded with the run's delivery, so that nothing of a run that did
not publish is remembered. Other components find the extension with
``crawler.get_extension(Stories)``; ``STORIES_ENABLED=False`` switches it off (every
article is then its own story).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler import settings as defaults
from crawler.items import ArticleItem
from crawler.parsing.fingerprint import Fingerprint
from crawler.parsing.urls import article_id
from crawler.state.rows import encode_print
from crawler.state.runstate import RunState
from crawler.state.store import StateError
from crawler.stories.assign import Assignment, PendingStories, StoryLookup, assign_story

__all__ = ["Stories"]

logger = logging.getLogger(__name__)


class Stories:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.pending = PendingStories()
        # Fingerprints handed over by the spider, by the id the article's canonical URL gives.
        self.offered: dict[str, Fingerprint] = {}
        # What the delivery records for each assigned article: its encoded fingerprint.
        self.prints: dict[str, list[Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Stories:
        if not crawler.settings.getbool("STORIES_ENABLED", defaults.STORIES_ENABLED):
            raise NotConfigured  # bare: with a message Scrapy logs a WARNING on every run
        stories = cls(crawler)
        crawler.signals.connect(stories._dropped, signal=signals.item_dropped)
        return stories

    @classmethod
    def of(cls, crawler: Crawler) -> Stories | None:
        return crawler.get_extension(cls)

    def offer(self, item: ArticleItem, fingerprint: Fingerprint | None) -> None:
        """The fingerprint of an article the spider just extracted."""
        if fingerprint is not None:
            self.offered[item.id] = fingerprint

    def _dropped(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, ArticleItem):
            self.offered.pop(article_id(item.canonical_url), None)

    def _lookups(self) -> list[StoryLookup]:
        state = self.crawler.get_extension(RunState)
        if state is None or self.crawler.stats.get_value("state/failed"):
            return [self.pending]
        return [self.pending, state.story_store()]

    def assign(self, item: ArticleItem) -> Assignment:
        """Give ``item`` its story id (keeping the one it has, if the store knows it)."""
        # By the spider's id: the state may since have given a moved article its old one.
        print_ = self.offered.pop(article_id(item.canonical_url), None)
        editions = [article_id(url) for url in item.editions.values()]
        try:
            assignment = assign_story(item.id, editions, print_, self._lookups())
        except StateError as exc:
            RunState.of(self.crawler).delivery.state_failed(exc)
            assignment = assign_story(item.id, editions, print_, [self.pending])
        item.story_id = assignment.story_id
        keys = self.pending.add(item.id, item.story_id, editions, print_)
        if print_ is not None:
            self.prints[item.id] = encode_print(item.id, item.story_id, print_.minhash, print_.numbers, keys)
        self.crawler.stats.inc_value(f"stories/{assignment.reason}")
        if assignment.matched:
            logger.debug(
                "Story %s: %s joins it (%s of %s, %.2f)",
                item.story_id, item.canonical_url, assignment.reason, assignment.matched, assignment.score,
            )  # fmt: skip
        return assignment

    def delivered(self, item: ArticleItem) -> list[Any] | None:
        """The fingerprint entry to record with ``item``'s delivery (None: nothing new to record)."""
        return self.prints.get(item.id)
