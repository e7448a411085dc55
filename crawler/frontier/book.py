"""The retry frontier: article pages a run owes, remembered in the state until they come.

Every article link that needs fetching is written to the frontier as soon as its feed,
sitemap or listing has been read (one small transaction per document), with its source, the
document that listed it and the feed's entry for it. It leaves the frontier in the same
transaction that records its article as delivered (or the page as holding none). So a page
that failed (crawler/frontier/retry.py), one over the run's ``max_articles``, one whose run
was stopped or killed before it was asked, stays owed, and a later run asks for it whether or
not any feed still lists it.

Failures are recorded with the run's deliveries: a killed run leaves every row as it was.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from crawler.frontier.retry import RetryPolicy
from crawler.parsing.feeds import FeedEntry
from crawler.parsing.kinds import DiscoveryKind
from crawler.stats import Count

__all__ = ["FrontierBook", "FrontierEntry", "FrontierStore", "decode_entry", "encode_entry"]

logger = logging.getLogger(__name__)

# A Retry-After further off than this is a misconfigured server, not a schedule to keep.
MAX_RETRY_AFTER = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class FrontierEntry:
    """An owed article page."""

    key: str  # crawler.parsing.urls.url_key of the URL
    url: str
    source: str
    via_kind: DiscoveryKind
    via_url: str
    entry: FeedEntry | None = None
    marker: str | None = None  # the change marker its document gave it
    dated: float | None = None  # the article's date, as its document gave it: newest go first
    reason: str | None = None  # why its last attempt failed; None while never tried
    attempts: int = 0  # failed runs
    first_seen: float = 0.0
    first_failed: float | None = None
    next_at: float = 0.0  # not asked before this time

    @property
    def via(self) -> dict[str, str]:
        return {"kind": self.via_kind, "url": self.via_url}

    def row(self) -> dict[str, Any]:
        """The entry as the stores write it."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values["entry"] = encode_entry(self.entry)
        return values

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FrontierEntry:
        return cls(**{**row, "via_kind": DiscoveryKind(row["via_kind"]), "entry": decode_entry(row.get("entry"))})


def encode_entry(entry: FeedEntry | None) -> str | None:
    return None if entry is None else json.dumps(asdict(entry), ensure_ascii=False)


def decode_entry(text: str | None) -> FeedEntry | None:
    if not text:
        return None
    try:
        values = json.loads(text)
        return FeedEntry(**{**values, "tags": tuple(values.get("tags") or ())})
    except (TypeError, ValueError):
        return None  # the hints are a nicety: the page itself says the rest


class FrontierStore(Protocol):
    def frontier(self, sources: list[str]) -> list[FrontierEntry]: ...
    def add_to_frontier(self, entries: list[FrontierEntry]) -> None: ...


def _newest_first(entry: FrontierEntry) -> tuple[float, float]:
    return (-(entry.dated or 0.0), -entry.first_seen)


class FrontierBook:
    """The frontier of the run's sources, in memory, and what this run changed in it."""

    def __init__(self, store: FrontierStore, policy: RetryPolicy, now: float):
        self.store = store
        self.policy = policy
        self.now = now
        self.entries: dict[str, FrontierEntry] = {}
        self._unstored: dict[str, FrontierEntry] = {}
        self._failed: dict[str, FrontierEntry] = {}
        self._done: set[str] = set()
        self.given_up: Counter[str] = Counter()

    def load(self, sources: Iterable[str]) -> None:
        for entry in self.store.frontier(sorted(set(sources))):
            self.entries[entry.key] = entry

    def get(self, key: str) -> FrontierEntry | None:
        return None if key in self._done else self.entries.get(key)

    def _open(self, source: str) -> list[FrontierEntry]:
        return [e for key, e in self.entries.items() if e.source == source and key not in self._done]

    def retries_due(self, source: str) -> list[FrontierEntry]:
        """Pages of ``source`` that failed before and whose pause is over, newest first."""
        due = [e for e in self._open(source) if e.attempts > 0 and e.key not in self._failed and e.next_at <= self.now]
        return sorted(due, key=_newest_first)

    def backlog(self, source: str) -> list[FrontierEntry]:
        """Pages of ``source`` owed but never asked for (over a run's quota, a stopped run)."""
        return sorted((e for e in self._open(source) if e.attempts == 0), key=_newest_first)

    def waiting(self, key: str) -> bool:
        """It failed before and its pause is not over: no feed listing it again hurries it."""
        entry = self.get(key)
        return entry is not None and entry.attempts > 0 and (key in self._failed or entry.next_at > self.now)

    def owe(self, entry: FrontierEntry) -> None:
        """A page to fetch: remembered at once (``flush`` writes it to the state)."""
        if entry.key in self.entries:
            self._done.discard(entry.key)
            return
        entry = replace(entry, first_seen=self.now, next_at=self.now)
        self.entries[entry.key] = entry
        self._unstored[entry.key] = entry

    def flush(self) -> None:
        """Write the pages owed since the last flush (StateError when the state fails)."""
        if self._unstored:
            entries, self._unstored = list(self._unstored.values()), {}
            self.store.add_to_frontier(entries)

    def settle(self, key: str | None) -> None:
        """The page gave its final answer (an article, or none for good): it is owed no more."""
        if key is not None and key in self.entries:
            self._done.add(key)
            self._failed.pop(key, None)

    def fail(
        self, key: str, reason: str, fallback: FrontierEntry | None = None, not_before: float | None = None
    ) -> FrontierEntry | None:
        """The page could not be fetched for ``reason``, which may pass. Returns the entry when
        this failure gives it up (the caller says so), else None: it is asked again later, not
        before ``not_before`` (a Retry-After) if that is later than its pause."""
        entry = self.entries.get(key) or fallback
        if entry is None:
            return None
        if key in self._failed:
            return None  # one failure per run: Scrapy's own retries are over
        attempts = entry.attempts + 1
        first_failed = entry.first_failed if entry.first_failed is not None else self.now
        entry = replace(entry, reason=reason, attempts=attempts, first_failed=first_failed)
        self.entries[key] = entry
        if self.policy.gives_up(reason, attempts, first_failed, self.now):
            self.settle(key)
            self.given_up[entry.source] += 1
            return entry
        next_at = max(self.now + self.policy.pause(attempts), min(not_before or 0.0, self.now + MAX_RETRY_AFTER))
        self._failed[key] = replace(entry, next_at=next_at)
        self.entries[key] = self._failed[key]
        return None

    def payload(self) -> dict[str, Any]:
        """What the run changed, applied with its deliveries."""
        return {
            "frontier_done": sorted(self._done),
            "frontier_failed": [entry.row() for entry in self._failed.values()],
        }

    def counts(self, source: str) -> dict[str, int]:
        """retry_pending (failed, asked again later), backlog (owed, never asked), given_up (this run)."""
        still = self._open(source)
        return {
            Count.RETRY_PENDING: sum(1 for e in still if e.attempts > 0),
            Count.BACKLOG: sum(1 for e in still if e.attempts == 0),
            Count.GIVEN_UP: self.given_up[source],
        }
