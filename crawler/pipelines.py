"""Thin item pipeline stages; the logic they call lives in pure modules."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler import settings as defaults
from crawler.evidence.changes import ChangeKind, FoundBy, edit_change
from crawler.items import ArticleItem, TranslationStatus, translation_record
from crawler.output.watchlists import Watchlists
from crawler.state.runstate import Decision, RunState
from crawler.stats import Count, SourceStats
from crawler.stories.extension import Stories
from crawler.translation import provider_from_settings, provider_name
from crawler.translation.base import ErrorKind, failure_words
from crawler.translation.policy import translation_decision, translation_languages
from crawler.translation.service import Outcome, ServiceConfig, TranslationService

__all__ = [
    "ChangePipeline",
    "DeliveryPipeline",
    "DuplicatePipeline",
    "EmittedPipeline",
    "StatePipeline",
    "StoryPipeline",
    "TranslationPipeline",
    "WatchPipeline",
]

logger = logging.getLogger(__name__)


class _Stage:
    """A stage that needs the crawler and the per-source counters, and nothing else built."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = SourceStats(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class DuplicatePipeline(_Stage):
    """One record per article per run, even when several URLs lead to it (AMP, aliases),
    and across the shards of a distributed run (claimed in the shared store)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.seen: set[str] = set()

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        if item.id in self.seen:
            self.stats.not_emitted(item.source, "duplicate")
            raise DropItem(f"duplicate of an article already in this run: {item.canonical_url}", log_level="DEBUG")
        self.seen.add(item.id)
        state = self.crawler.get_extension(RunState)
        if state is not None and not state.claim(f"article {item.id}"):
            # Another shard of this distributed run reached the same article first.
            self.stats.not_emitted(item.source, "duplicate")
            raise DropItem(f"emitted by another shard of this run: {item.canonical_url}", log_level="DEBUG")
        return item


class TranslationPipeline:
    """Fills ``*_en`` and ``translation``: English needs nothing, TRANSLATION_LANGUAGES
    get translated, everything else (and sources with ``translate: false``) is skipped.
    A failed translation keeps the article, with null ``*_en`` and the error."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = SourceStats(crawler)
        self.target = settings.get("TRANSLATION_TARGET", defaults.TRANSLATION_TARGET).strip().lower()
        self.languages = translation_languages(settings)
        self.provider_name = provider_name(settings)
        self.skip_reasons: set[tuple[str | None, str]] = set()  # logged once per language and reason
        self.service: TranslationService | None = None
        if self.provider_name != "none":
            provider = provider_from_settings(settings)
            self.service = TranslationService(
                provider,
                ServiceConfig.from_settings(settings),
                cache=RunState.of(crawler).translation_cache(),
                stats=lambda key, count: crawler.stats.inc_value(key, count),
            )
            if self.service.down is not None:
                logger.error("Translation disabled for this run: %s", self.service.down)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TranslationPipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.close, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.flush, signal=signals.spider_idle)
        return pipeline

    def flush(self) -> None:
        """The crawl went idle: no more pieces are coming to fill a batch."""
        if self.service is not None:
            self.service.flush()

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
        stats = self.crawler.stats
        counts = {
            status: stats.get_value(f"translation/articles/{status}", 0)
            for status in ("translated", "failed", "failed_again", "deferred", "not_needed", "skipped")
        }
        usage = {key: stats.get_value(f"translation/{key}", 0) for key in ("calls", "chars", "cache_hits")}
        # "failed" as the run summary counts it: articles delivered untranslated this run; a retry
        # of one delivered before that failed again is counted apart.
        logger.info(
            "Translation (%s): %d translated, %d failed, %d failed again (delivered before), %d deferred, "
            "%d not needed, %d skipped; %d calls, %d characters sent, %d cache hits",
            self.provider_name, counts["translated"], counts["failed"] - counts["failed_again"], counts["failed_again"],
            counts["deferred"], counts["not_needed"], counts["skipped"],
            usage["calls"], usage["chars"], usage["cache_hits"],
        )  # fmt: skip

    def _decision(self, item: ArticleItem) -> tuple[str, str]:
        spider = self.crawler.spider
        source = spider.source(item.source) if spider is not None and hasattr(spider, "source") else None
        provider = self.provider_name if self.service is not None else "none"
        status, why = translation_decision(item.language, self.target, self.languages, provider, source)
        if status == TranslationStatus.SKIPPED:
            self._log_skip(item, why)
        return status, why

    def _log_skip(self, item: ArticleItem, why: str) -> None:
        if (item.language, why) not in self.skip_reasons:
            self.skip_reasons.add((item.language, why))
            logger.info("Not translating articles in %s (first: %s): %s", item.language, item.canonical_url, why)

    async def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem) or _is_removal(item):
            return item  # a removal keeps the English of the record it reports gone
        language, target = item.language, self.target
        decision, why = self._decision(item)
        if decision == TranslationStatus.NOT_NEEDED:
            item.title_en, item.summary_en, item.text_en = item.title, item.summary, item.text
            item.translation = translation_record(
                TranslationStatus.NOT_NEEDED, source_language=language, target_language=target
            )
        elif decision == TranslationStatus.SKIPPED or self.service is None:
            item.title_en = item.summary_en = item.text_en = None
            item.translation = translation_record(
                TranslationStatus.SKIPPED, source_language=language, target_language=target, reason=why
            )
        else:
            outcome = await self.service.translate(
                {"title": item.title, "summary": item.summary, "text": item.text}, language, target
            )
            self._apply(item, outcome)
            self._count(item, outcome)
        self.crawler.stats.inc_value(f"translation/articles/{item.translation['status']}")
        return item

    def _apply(self, item: ArticleItem, outcome: Outcome) -> None:
        """The outcome into the record: the English fields, or null ones with the status and error."""
        assert self.service is not None
        provider, language, target = self.service.provider.label, item.language, self.target
        if outcome.ok:
            item.title_en, item.summary_en, item.text_en = (outcome.fields.get(n) for n in ("title", "summary", "text"))
            item.translation = translation_record(
                TranslationStatus.TRANSLATED, provider=provider, source_language=language, target_language=target,
                chars=outcome.chars,
            )  # fmt: skip
            return
        assert outcome.error is not None
        kind = outcome.error.kind
        status = {ErrorKind.UNSUPPORTED: TranslationStatus.SKIPPED, ErrorKind.DEFERRED: TranslationStatus.DEFERRED}.get(
            kind, TranslationStatus.FAILED
        )
        item.title_en = item.summary_en = item.text_en = None
        item.translation = translation_record(
            status, provider=provider, source_language=language, target_language=target,
            chars=0 if kind == ErrorKind.UNSUPPORTED else outcome.chars, error=str(outcome.error),
            reason=failure_words(kind),
        )  # fmt: skip
        if kind == ErrorKind.UNSUPPORTED:
            self._log_skip(item, str(outcome.error))

    def _count(self, item: ArticleItem, outcome: Outcome) -> None:
        """Per source: articles translated, articles whose translation failed when delivered (a
        retry failing again counts apart, so an article counts once however many runs it takes),
        the failure kinds, and the characters sent."""
        self.stats.inc(item.source, Count.TRANSLATION_CHARS, outcome.sent)
        kind = outcome.error.kind if outcome.error is not None else None
        if kind is None:
            self.stats.inc(item.source, Count.TRANSLATED)
        elif kind == ErrorKind.DEFERRED:
            self.stats.inc(item.source, Count.TRANSLATION_DEFERRED)
            self.stats.inc(item.source, Count.TRANSLATION_DEFERRED_CHARS, outcome.chars)
        elif kind != ErrorKind.UNSUPPORTED:
            again = RunState.of(self.crawler).links.decisions.get(item.id) == Decision.RETRY
            self.stats.inc(item.source, Count.TRANSLATION_FAILED_AGAIN if again else "translation_failed")
            if again:
                self.crawler.stats.inc_value("translation/articles/failed_again")
            self.stats.inc(item.source, f"translation_failures/{kind}")


class StatePipeline(_Stage):
    """Before translation: new (revision 1), updated (revision + 1), or unchanged
    (dropped, unless -a full=1). Articles whose translation failed last time go on
    to be translated again."""

    async def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        links = RunState.of(self.crawler).links
        await links.prepare(item)
        decision = links.decide(item)
        if decision == Decision.MOVED:
            self.stats.inc(item.source, Count.MOVED)
            raise DropItem(f"moved to a new URL, unchanged: {item.url}", log_level="DEBUG")
        if decision == Decision.UNCHANGED:
            self.stats.inc(item.source, Count.UNCHANGED)
            raise DropItem(f"unchanged since it was delivered: {item.canonical_url}", log_level="DEBUG")
        return item


class ChangePipeline(_Stage):
    """After the state's decision: a revision after the first says what changed
    (crawler/evidence/changes.py), against the record delivered before."""

    async def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        state = RunState.of(self.crawler)
        decision = state.links.decisions.get(item.id)
        if decision not in (Decision.UPDATED, Decision.RESTORED):
            return item
        found_by = state.checks.found_by.get(item.id, FoundBy.ANNOUNCED)
        previous = await state.checks.previous(item.id)
        change = edit_change(previous, {"title": item.title, "text": item.text, "revision": item.revision},
                             found_by, item.fetched_at)  # fmt: skip
        if decision == Decision.RESTORED:
            change["kind"] = str(ChangeKind.RESTORED)
        elif found_by == FoundBy.REVISIT:
            self.stats.inc(item.source, Count.REVISITS_EDITED)
        item.change = change
        return item


class StoryPipeline(_Stage):
    """After the state's decision, before translation: the article's story id
    (crawler/stories). Without the Stories extension, each article is its own story."""

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem) or _is_removal(item):
            return item
        stories = Stories.of(self.crawler)
        if stories is None:
            item.story_id = item.story_id or item.id
        else:
            stories.assign(item)
        return item


class WatchPipeline(_Stage):
    """After translation: the watchlists the article matches, in its original or its English,
    and for a revision or a removal in the text it replaced too (crawler/output/watchlists.py);
    an alert for each with a webhook goes with the run's delivery."""

    async def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        watchlists = Watchlists.of(self.crawler)
        if not isinstance(item, ArticleItem) or watchlists is None:
            return item
        state = RunState.of(self.crawler)
        replaced = state.links.decisions.get(item.id) in (Decision.UPDATED, Decision.RESTORED) or _is_removal(item)
        previous = await state.checks.previous(item.id) if replaced else None
        item.watchlists = watchlists.match(item, previous)
        for match in item.watchlists:
            self.stats.inc(item.source, f"watchlist/{match['name']}")
        if item.discovered_via.get("kind") != "archive":  # a backfill's old articles alert no one
            for alert in watchlists.alerts(item):
                state.delivery.stage_alert(alert)
        return item


class DeliveryPipeline(_Stage):
    """After translation: stage the article as delivered (recorded when the output
    file is in place). A retried translation that failed again is not emitted twice."""

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if not isinstance(item, ArticleItem):
            return item
        state = RunState.of(self.crawler)
        decision = state.links.decisions.get(item.id, Decision.NEW)
        if decision == Decision.RETRY and item.translation.get("status") != TranslationStatus.TRANSLATED:
            state.delivery.touch(item.id)  # a retried translation failed again: kept as delivered
            self.stats.inc(item.source, Count.UNCHANGED)
            raise DropItem(f"translation failed again, already delivered: {item.canonical_url}", log_level="DEBUG")
        stories = Stories.of(self.crawler)
        story_print = stories.delivered(item) if stories is not None and not _is_removal(item) else None
        state.delivery.stage(item, story_print, state.links.first_seen(item.id))
        # A new or updated article counts under its decision's name (Count.NEW, Count.UPDATED).
        counted = {Decision.RETRY: Count.RETRANSLATED, Decision.FULL: Count.UNCHANGED}.get(decision)
        self.stats.inc(item.source, counted or Count(decision))
        return item


class EmittedPipeline(_Stage):
    """Last stage: counts what reaches the output."""

    def process_item(self, item: Any, spider: object = None) -> Any:  # spider: Scrapy < 2.14 passes it
        if isinstance(item, ArticleItem):
            self.stats.emitted(item.source)
            self.stats.inc(item.source, f"language/{item.language or 'unknown'}")
        return item


def _is_removal(item: ArticleItem) -> bool:
    return bool(item.change) and item.change.get("kind") == ChangeKind.REMOVED  # type: ignore[union-attr]
