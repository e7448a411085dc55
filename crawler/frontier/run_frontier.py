"""What the spider has asked for in this run: the links it has seen, those it skipped as
known, the article pages in flight and requested per source against its quota, the richest
feed entry of each link, the discovery documents asked for and not yet answered, and what
of that survives a pause under JOBDIR.

The retry frontier (crawler/frontier/book.py) remembers across runs what is owed; this one
lives for a run and decides what the run asks for next. It holds no Scrapy object, so the
spider's callbacks stay about responses and its rules can be read and tested here."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crawler.config.sources_file import Source
from crawler.frontier.book import FrontierEntry
from crawler.parsing.feeds import FeedEntry

__all__ = ["Quotas", "RunFrontier"]

logger = logging.getLogger(__name__)

# Keys of the spider's ``state`` that Scrapy's SpiderState pickles under JOBDIR.
_JOB_INFLIGHT = "sources_crawler/inflight"
_JOB_DOCUMENTS = "sources_crawler/documents"
_UNLIMITED = 1 << 30


@dataclass(frozen=True)
class Quotas:
    """Article pages a source may ask for in one run."""

    default: int = 0  # SOURCES_MAX_ARTICLES, for sources without max_articles (0: no limit)
    limit: int | None = None  # -a limit=N: at most this many, whatever the source says

    def of(self, source: Source) -> int | None:
        quota = source.max_articles or self.default
        if self.limit:
            quota = min(quota or self.limit, self.limit)
        return quota or None


def _richer(new: FeedEntry, old: FeedEntry) -> bool:
    def score(entry: FeedEntry) -> int:
        return sum(bool(v) for v in (entry.title, entry.published, entry.summary, entry.author, entry.tags))

    return score(new) > score(old)


class RunFrontier:
    def __init__(self, quotas: Quotas):
        self.quotas = quotas
        self.fresh_links = 0  # links asked for because they are new or changed
        self._seen: set[str] = set()
        self._skipped: dict[str, str] = {}  # URL keys skipped as known -> article id ("" for a non-article)
        self._entries: dict[str, FeedEntry] = {}
        self._requested: Counter[str] = Counter()
        self._inflight: dict[str, str] = {}  # URL key -> source
        # Discovery documents asked for this run per source (an index that lists itself is
        # read once), and those not yet answered, with their phase.
        self._documents: set[tuple[str, str]] = set()
        self._documents_inflight: set[tuple[str, str, str]] = set()

    # --- article links ------------------------------------------------------------

    def seen(self, key: str) -> bool:
        return key in self._seen

    def see(self, keys: Iterable[str]) -> None:
        """Links this run has dealt with (asked for, or decided not to ask for)."""
        self._seen.update(keys)

    def skip_known(self, key: str, article_id: str) -> None:
        """Delivered before and unchanged as far as its document can tell: not asked for."""
        self._seen.add(key)
        self._skipped[key] = article_id

    def skipped(self, key: str) -> bool:
        return key in self._skipped

    def dealt_with(self, key: str) -> bool:
        """Asked for (or refused) this run; a link skipped as known was not: a feed that lists
        a delivered article every run must not stand in for its checks (crawler/evidence)."""
        return key in self._seen and key not in self._skipped

    def reopen(self, key: str) -> bool:
        """A link skipped as known, that another document now says changed, may be asked for
        after all; True when it had been counted as an unchanged article."""
        self._seen.discard(key)
        return bool(self._skipped.pop(key, ""))

    def note_entry(self, key: str, entry: FeedEntry | None) -> None:
        """Keep the richest feed entry any document gave the link (title, date, summary, …)."""
        if entry is not None and (key not in self._entries or _richer(entry, self._entries[key])):
            self._entries[key] = entry

    def entry(self, key: str) -> FeedEntry | None:
        return self._entries.get(key)

    def requested(self, key: str, source: str) -> None:
        self._seen.add(key)
        self._inflight[key] = source
        self._requested[source] += 1

    def asked_again(self, key: str | None, source: str) -> None:
        """The page is asked for once more in this run (in the browser), not as a new request."""
        if key is not None:
            self._inflight[key] = source

    def answered(self, key: str | None) -> None:
        if key is not None:
            self._inflight.pop(key, None)

    def quota_left(self, source: Source) -> int:
        quota = self.quotas.of(source)
        return _UNLIMITED if quota is None else quota - self._requested[source.name]

    def unseen(self, entries: Iterable[FrontierEntry]) -> list[FrontierEntry]:
        """The owed pages among ``entries`` that this run has not dealt with yet."""
        return [entry for entry in entries if entry.key not in self._seen]

    # --- discovery documents ------------------------------------------------------------

    def asked(self, source: str, url: str) -> bool:
        return (source, url) in self._documents

    def ask(self, source: str, url: str, phase: str) -> None:
        self._documents.add((source, url))
        self._documents_inflight.add((source, url, phase))

    def document_answered(self, source: str, url: str, phase: str) -> None:
        self._documents_inflight.discard((source, url, phase))

    # --- pause and resume (JOBDIR) ------------------------------------------------------

    def save(self, job: dict[str, Any]) -> None:
        """Into the spider's ``state``, which Scrapy's SpiderState pickles after the spider
        closes: what was still in flight then is in its request queue on disk."""
        job[_JOB_INFLIGHT] = dict(self._inflight)
        job[_JOB_DOCUMENTS] = sorted(self._documents_inflight)

    def resume(self, job: dict[str, Any]) -> list[tuple[str, str, str]]:
        """What a paused run had in flight: its requests come back from the queue on disk and
        are not asked for twice. The discovery documents among them, as (source, url, phase)."""
        inflight: dict[str, str] = job.pop(_JOB_INFLIGHT, None) or {}
        documents = [tuple(d) for d in job.pop(_JOB_DOCUMENTS, None) or [] if isinstance(d, (list, tuple))]
        documents = [d for d in documents if len(d) == 3]
        for key, source in inflight.items():
            self.requested(key, source)
        for source, url, phase in documents:
            self.ask(source, url, phase)
        if inflight or documents:
            logger.info(
                "Resuming a paused run: %d article and %d feed/sitemap requests come from the job directory",
                len(inflight), len(documents),
            )  # fmt: skip
        return documents  # type: ignore[return-value]
