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
from collections.abc import Iterable
from typing import Any

from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.state.rows import KnownUrl
from crawler.state.store import StateError, StateStore

__all__ = ["Lookups"]

logger = logging.getLogger(__name__)

_Found = tuple[dict[str, KnownUrl], dict[str, dict[str, Any]]]


class Lookups:
    """``known_url`` and ``article`` as the store answers them, from memory after the first time."""

    def __init__(self, store: StateStore):
        self.store = store
        self._urls: dict[str, KnownUrl | None] = {}
        self._articles: dict[str, dict[str, Any] | None] = {}

    def known_url(self, key: str) -> KnownUrl | None:
        if key not in self._urls:
            self._urls[key] = self.store.known_url(key)
        return self._urls[key]

    def article(self, article_id: str) -> dict[str, Any] | None:
        if article_id not in self._articles:
            self._articles[article_id] = self.store.article(article_id)
        return self._articles[article_id]

    async def prefetch(self, keys: Iterable[str]) -> None:
        """Look up every one of ``keys`` not looked up yet, and the articles they led to."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._urls]
        if not wanted:
            return
        try:
            if self.store.threadsafe:
                found: _Found = await deferred_to_future(deferToThread(self._fetch, wanted))
            else:
                found = self._fetch(wanted)
        except StateError as exc:
            # Each link is then asked about alone, where the failure meets its usual handling.
            logger.warning("State: looking up %d links at once failed (%s)", len(wanted), exc)
            return
        urls, articles = found
        for key in wanted:
            self._urls.setdefault(key, urls.get(key))
        for known in urls.values():
            if known[0]:
                self._articles.setdefault(known[0], articles.get(known[0]))

    def _fetch(self, keys: list[str]) -> _Found:
        urls = self.store.known_urls(keys)
        ids = [known[0] for known in urls.values() if known[0]]
        return urls, self.store.articles(ids) if ids else {}
