"""What a run makes of each link and each extracted article, against the state as it was when
the run started: whether a listed link needs fetching, what a page that gave no article means
for the retry frontier, and whether an article is new, updated, unchanged, moved or to be
translated again.

Lookups come in batches per discovery document and are kept for the run
(crawler/state/lookups.py); nothing here writes to the store. What the decisions leave behind
(the URLs and the articles seen again) goes out with the run's delivery (crawler/state/delivery.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from crawler.frontier.book import FrontierBook, FrontierEntry
from crawler.frontier.retry import RetryKind, retry_kind
from crawler.items import ArticleItem
from crawler.parsing.dates import utc_timestamp
from crawler.parsing.markers import has_changed
from crawler.state.lookups import Lookups
from crawler.state.store import StateStore

__all__ = ["GIVE_UP_AFTER_RUNS", "RETRANSLATE", "Decision", "LinkDecisions", "title_hash"]

logger = logging.getLogger(__name__)

# Final outcomes that depend on this crawler's own rules (robots.txt, the network guard, the
# sources file), which may change: nothing is recorded, and a document listing the page again
# has it weighed again (refused before any connection, so it costs the site nothing).
UNRECORDED_REJECTIONS = frozenset({"robots_txt", "private_address", "scheme", "offsite", "ignored"})
# Rows of the urls table written before the retry frontier: a URL with fewer failed runs than
# this that never gave an article is fetched again when listed. Pages given up are written
# with at least this many.
GIVE_UP_AFTER_RUNS = 3
# Translation statuses whose article is translated again on the next run, from its stored record.
RETRANSLATE = frozenset({"failed", "deferred"})


class Decision(StrEnum):
    """What the state makes of an extracted article."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RETRY = "retry"
    FULL = "full"
    MOVED = "moved"
    # A delivered article whose page is gone (confirmed), and one that came back after that.
    REMOVED = "removed"
    RESTORED = "restored"


def title_hash(title: str | None) -> str:
    """Hash of a normalised headline: a changed headline is an edit, a changed space is not."""
    normalised = " ".join(unicodedata.normalize("NFKC", title or "").casefold().split())
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=12).hexdigest()


class LinkDecisions:
    """``touch`` marks a delivered article as seen again this run (its row is kept fresh)."""

    def __init__(
        self, store: StateStore, lookups: Lookups, frontier: FrontierBook, full: bool, touch: Callable[[str], None]
    ):
        self.store, self.lookups, self.frontier, self.full, self.touch = store, lookups, frontier, full, touch
        # URL key -> article id it led to ("" for a page without article), the markers feeds
        # and sitemaps gave it this run, and failed runs so far.
        self.key_article: dict[str, str] = {}
        self.key_failures: dict[str, int] = {}
        self.key_markers: dict[str, dict[str, str]] = {}
        self.fetched_key: dict[str, str] = {}
        self.decisions: dict[str, Decision] = {}
        self._untranslated: dict[str, int] | None = None

    # --- links ---------------------------------------------------------------------------

    def see(self, key: str, marker: str | None, document: str | None) -> None:
        """A feed or sitemap listed ``key``, with this marker; remembered for next time."""
        if marker and document:
            self.key_markers.setdefault(key, {})[document] = marker

    def known(self, key: str, marker: str | None, document: str | None, full: bool | None = None) -> str | None:
        """The article id (or "" for a page without article) when ``key`` need not be fetched
        (under -a full=1 none does; ``full=False`` asks what an ordinary run would say)."""
        if self.full if full is None else full:
            return None
        known = self.lookups.known_url(key)
        if known is None:
            return None
        article_id, _, failures = known
        if self.changed(key, marker, document):
            return None
        if not article_id and 0 < failures < GIVE_UP_AFTER_RUNS:
            return None  # it failed before, but not often enough to give up on it
        if article_id:
            article = self.lookups.article(article_id)
            if article is None or article["translation_status"] in RETRANSLATE:
                return None
        return article_id

    def changed(self, key: str, marker: str | None, document: str | None) -> bool:
        """Whether ``document`` now gives ``key`` a different marker than it did last time.

        Times of one kind are compared across documents (an article moved from a
        news sitemap into the archive keeps its lastmod); see crawler/parsing/markers.py."""
        if not (marker and document):
            return False
        known = self.lookups.known_url(key)
        return known is not None and has_changed(marker, document, known[1])

    def skip_known(self, key: str, article_id: str) -> None:
        self.key_article[key] = article_id
        if article_id:
            self.touch(article_id)

    def note_fetch(self, article_id: str, key: str) -> None:
        self.key_article[key] = article_id
        self.fetched_key[article_id] = key
        self.frontier.settle(key)

    def note_rejected(
        self, key: str | None, reason: str, owed: FrontierEntry | None = None, not_before: float | None = None
    ) -> None:
        """A page gave no article. A failure that may pass keeps it in the frontier, to be asked
        again on a later run (``owed`` describes it, should the frontier not have it yet), not
        before ``not_before`` (the site's Retry-After)."""
        if key is None:
            return
        kind = retry_kind(reason)
        if kind == RetryKind.NOT_LIVE and (known := self.lookups.known_url(key)) is not None and known[0]:
            kind = None  # it was an article; now it is gone
        if kind is not None:
            given_up = self.frontier.fail(key, reason, owed, not_before)
            if given_up is not None:
                self._give_up(given_up)
            return
        self.frontier.settle(key)
        if reason not in UNRECORDED_REJECTIONS:
            self.key_article[key] = ""  # no article there, for good: not fetched again unless it changes

    def _give_up(self, entry: FrontierEntry) -> None:
        first = utc_timestamp(entry.first_failed) if entry.first_failed is not None else "?"
        logger.warning(
            "%s: giving up on %s after %d failed runs since %s (last: %s; RETRY_GIVE_UP_AFTER is %s)",
            entry.source, entry.url, entry.attempts, first, entry.reason, self.frontier.policy.describe(),
        )  # fmt: skip
        self.key_article[entry.key] = ""
        self.key_failures[entry.key] = max(entry.attempts, GIVE_UP_AFTER_RUNS)

    def url_rows(self, delivered: Callable[[str], bool]) -> dict[str, tuple[str, dict[str, str], int]]:
        """Every URL that led to a delivered or known article (duplicates included) or to a
        page without article, so that next time none of them is fetched again."""
        return {
            key: (led_to, self.key_markers.get(key, {}), self.key_failures.get(key, 0))
            for key, led_to in self.key_article.items()
            if not led_to or delivered(led_to)
        }

    # --- articles ------------------------------------------------------------------------

    def retry_items(self, source: str, limit: int) -> list[tuple[ArticleItem, list[str]]]:
        """Articles whose translation failed or was deferred, from their stored records, with
        the URL keys that lead to them."""
        if self._untranslated is None:
            # Which sources have any, in one query: most runs, none do, and a query per source
            # is a round trip each to a remote PostgreSQL.
            self._untranslated = self.store.untranslated()
        if not self._untranslated.get(source):
            return []
        items = []
        for record, keys in self.store.retry_records(source, limit):
            try:
                items.append((ArticleItem(**json.loads(record)), keys))
            except (TypeError, ValueError) as exc:
                logger.warning("%s: a stored record to translate again cannot be read (%s); skipped", source, exc)
        return items

    def _moved_from(self, item: ArticleItem, key: str | None) -> str | None:
        """The id of a delivered article this one is, at a new URL (a redirect or a new canonical).

        Either the URL fetched led to that article before, or the source already
        delivered an article with exactly this text."""
        known = self.lookups.known_url(key) if key else None
        if known is not None and known[0] and known[0] != item.id and self.lookups.article(known[0]) is not None:
            return known[0]
        return self.lookups.article_with_text(item.source, item.content_hash)

    async def prepare(self, item: ArticleItem) -> None:
        """Read what ``decide`` needs, off the reactor, so that deciding waits for no store."""
        await self.lookups.prefetch_decision(item.id, self.fetched_key.get(item.id), item.source, item.content_hash)

    def decide(self, item: ArticleItem) -> Decision:
        """Sets ``item.revision``, and ``item.id`` for an article that moved."""
        key = self.fetched_key.get(item.id)
        previous = self.lookups.article(item.id)
        moved = False
        if previous is None and (earlier := self._moved_from(item, key)) is not None:
            # Same article, new address: it keeps its id, so readers see one article.
            item.id, previous, moved = earlier, self.lookups.article(earlier), True
            if key:
                self.key_article[key] = earlier
        decision = self._weigh(item, previous, moved)
        self.decisions[item.id] = decision
        if decision in (Decision.UNCHANGED, Decision.MOVED):
            self.touch(item.id)
        return decision

    def first_seen(self, article_id: str) -> float | None:
        """When the article was first delivered, if before this run."""
        row = self.lookups.article(article_id)
        return float(row["first_seen"]) if row is not None and row.get("first_seen") is not None else None

    def _weigh(self, item: ArticleItem, previous: dict[str, Any] | None, moved: bool) -> Decision:
        kind = (item.change or {}).get("kind")
        if previous is not None and kind in (Decision.REMOVED, Decision.RESTORED):
            # Reported whatever the text: a removal, and a return, are news of their own.
            item.revision = previous["revision"] + 1
            return Decision(kind)
        if previous is None:
            item.revision = 1
            return Decision.NEW
        if previous["content_hash"] != item.content_hash or previous["title_hash"] not in (
            None,
            title_hash(item.title),
        ):
            item.revision = previous["revision"] + 1
            return Decision.UPDATED
        item.revision = previous["revision"]
        if self.full:
            return Decision.FULL
        if previous["translation_status"] in RETRANSLATE:
            return Decision.RETRY
        return Decision.MOVED if moved else Decision.UNCHANGED
