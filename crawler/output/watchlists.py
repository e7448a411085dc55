"""Watchlists in a crawl: the file read and compiled once, each article matched as it goes out.

The extension holds the compiled matcher (crawler/watch/matcher.py); the WatchPipeline, after
translation, asks it for an article's matches, in its original and its English, and for a
revision or removal in the text it replaced too. A match with a webhook stages an alert with the
run's delivery (crawler/state/delivery.py): it is recorded only if the delivery is, once per
watchlist and story, and sent by crawler/output/alert_sender.py.

Without a watchlists file (WATCHLISTS_FILE, at its default path) the extension is off.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler import settings as defaults
from crawler.config.sources_file import SourcesError, load_sources
from crawler.config.watchlists_file import WatchlistsConfig, load_watchlists
from crawler.items import ArticleItem
from crawler.watch.matcher import Article, Match, Matcher
from crawler.watch.words import release_dictionaries

__all__ = ["Watchlists", "watchlists_config"]

logger = logging.getLogger(__name__)

# What an alert says of the article's text when it has no summary: its opening.
SUMMARY_CHARS = 400


def watchlists_config(settings: Any) -> WatchlistsConfig | None:
    """The watchlists file's configuration, None when there is none at the default path; raises
    WatchlistsError for a file with mistakes (or one set explicitly that is not there)."""
    path = Path(settings.get("WATCHLISTS_FILE") or "")
    if not str(settings.get("WATCHLISTS_FILE") or "").strip():
        return None
    explicit = settings.get("WATCHLISTS_FILE") != defaults.WATCHLISTS_FILE
    if not explicit and not path.exists():
        return None
    try:
        known = [source.name for source in load_sources(settings.get("SOURCES_FILE")).sources]
    except SourcesError:
        known = None  # the crawl reports the sources file itself
    return load_watchlists(path, known)


class Watchlists:
    def __init__(self, config: WatchlistsConfig):
        self.config = config
        self.matcher = Matcher(config.watchlists)
        release_dictionaries()
        self.webhooks = config.webhooks

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = watchlists_config(crawler.settings)
        if config is None or not config.watchlists:
            raise NotConfigured
        extension = cls(config)
        logger.info(
            "Watchlists: %d from %s (%d terms), %d with a webhook",
            len(config.watchlists), config.path, len(extension.matcher.patterns), len(extension.webhooks),
        )  # fmt: skip
        return extension

    @classmethod
    def of(cls, crawler: Crawler) -> Watchlists | None:
        return crawler.get_extension(cls)

    def match(self, item: ArticleItem, previous: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The record's ``watchlists`` field: what its texts match, and what the text it replaced
        (``previous``, a revision's or a removal's last delivered record) matched."""
        current = self.matcher.match(_article(item.source, item.language, item.__dict__))
        before = self.matcher.match(_article(item.source, item.language, previous)) if previous else []
        return _merged(current, before)

    def alerts(self, item: ArticleItem) -> list[dict[str, Any]]:
        """The alerts the record owes: one per matched watchlist with a webhook."""
        return [
            {"watchlist": match["name"], "story_id": item.story_id or item.id, "article_id": item.id,
             "payload": alert_payload(item, match)}
            for match in item.watchlists
            if match["name"] in self.webhooks
        ]  # fmt: skip


def _article(source: str, language: str, record: dict[str, Any]) -> Article:
    original = tuple(record.get(name) or "" for name in ("title", "summary", "text"))
    english = tuple(record.get(name) or "" for name in ("title_en", "summary_en", "text_en"))
    return Article(source, language, original, english if english != original else ())


def _merged(current: list[Match], before: list[Match]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for match, where in [(m, "current") for m in current] + [(m, "previous") for m in before]:
        entry = merged.setdefault(match.watchlist, {**match.as_dict(), "in": []})
        entry["terms"] = list(dict.fromkeys([*entry["terms"], *match.terms]))
        entry["mentions"] = max(entry["mentions"], match.mentions)
        entry["in"].append(where)
    return list(merged.values())


def alert_payload(item: ArticleItem, match: dict[str, Any]) -> dict[str, Any]:
    """The JSON a webhook receives: the watchlist and terms, the article's title and summary in
    the original and in English, its source, URL and story."""
    story = item.story_id or item.id
    summary_en = item.summary_en or (item.text_en or "")[:SUMMARY_CHARS] or None
    return {
        "id": f"{match['name']}/{story}",
        "watchlist": match["name"], "terms": match["terms"], "mentions": match["mentions"], "in": match["in"],
        "story_id": story, "article_id": item.id, "source": item.source, "url": item.canonical_url,
        "language": item.language, "published": item.published, "fetched_at": item.fetched_at,
        "title": item.title, "title_en": item.title_en,
        "summary": item.summary or item.text[:SUMMARY_CHARS], "summary_en": summary_en,
        "change": (item.change or {}).get("kind"), "revision": item.revision,
    }  # fmt: skip
