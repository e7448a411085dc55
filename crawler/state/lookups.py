"""What the store knows of the links a run meets: looked up in batches, cached for the run.

A feed of 100 links, each asked about alone, is 200 to 300 round trips to the store; under
STATE_URL every one is a PostgreSQL transaction, and on the reactor thread every download
waits for it (at 5 ms a trip, a feed of known links stalled the crawl for a second and a
half). So the spider hands each discovery document's links over in one batch: one query
for the links, one for the articles they led to, in a thread when the store allows it
(``StateStore.threadsafe``), and the answers are kept for the run. Within a run the store
changes only when the run commits, so what it said at the start stays true until then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.state.rows import KnownUrl
from crawler.state.store import StateError, StateStore

__all__ = ["Lookups"]

logger = logging.getLogger(__name__)

_Found = tuple[dict[str, KnownUrl], dict[str, dict[str, Any]]]
_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Lookups:
    """``known_url`` and ``article`` as the store answers them, from memory after the first time."""

    def __init__(self, store: StateStore):
        self.store = store
        self._urls: dict[str, KnownUrl | None] = {}
        self._articles: dict[str, dict[str, Any] | None] = {}
        self._texts: dict[tuple[str, str], str | None] = {}

    def known_url(self, key: str) -> KnownUrl | None:
        if key not in self._urls:
            self._urls[key] = self.store.known_url(key)
        return self._urls[key]

    def article(self, article_id: str) -> dict[str, Any] | None:
        if article_id not in self._articles:
            self._articles[article_id] = self.store.article(article_id)
        return self._articles[article_id]

    def article_with_text(self, source: str, content_hash: str) -> str | None:
        """The id of ``source``'s delivered article with exactly this text, if any."""
        if (source, content_hash) not in self._texts:
            self._texts[source, content_hash] = self.store.article_with_text(source, content_hash)
        return self._texts[source, content_hash]

    async def prefetch(self, keys: Iterable[str]) -> None:
        """Look up every one of ``keys`` not looked up yet, and the articles they led to."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._urls]
        if not wanted:
            return
        found = await self._off_reactor(self._fetch, wanted, f"looking up {len(wanted)} links at once")
        if found is None:
            return
        urls, articles = found
        for key in wanted:
            self._urls.setdefault(key, urls.get(key))
        for known in urls.values():
            if known[0]:
                self._articles.setdefault(known[0], articles.get(known[0]))

    async def prefetch_decision(self, article_id: str, key: str | None, source: str, content_hash: str) -> None:
        """What deciding on an extracted article reads (crawler/state/link_decisions.py), in one
        trip off the reactor: its stored row, the article its URL led to, and, for an article
        the store does not know, one of the source's with the same text (it may have moved)."""
        await self._off_reactor(self._decision_rows, (article_id, key, source, content_hash), "reading an article")

    def _decision_rows(self, wanted: tuple[str, str | None, str, str]) -> None:
        article_id, key, source, content_hash = wanted
        known = self.known_url(key) if key else None
        if known is not None and known[0]:
            self.article(known[0])
        if self.article(article_id) is None and (earlier := self.article_with_text(source, content_hash)):
            self.article(earlier)

    async def _off_reactor(self, work: Callable[[_In], _Out], wanted: _In, what: str) -> _Out | None:
        """``work(wanted)`` in a thread when the store allows it; None if the store failed: each
        answer is then asked for alone, where the failure meets its usual handling."""
        try:
            if self.store.threadsafe:
                return await deferred_to_future(deferToThread(work, wanted))
            return work(wanted)
        except StateError as exc:
            logger.warning("State: %s failed (%s)", what, exc)
            return None

    def _fetch(self, keys: list[str]) -> _Found:
        urls = self.store.known_urls(keys)
        ids = [known[0] for known in urls.values() if known[0]]
        return urls, self.store.articles(ids) if ids else {}
