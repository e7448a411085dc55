"""What one run remembers, decides and finally records in the state database: the Scrapy
extension that opens the store and puts together the run's three parts.

* ``documents`` (crawler/frontier/documents.py): the records of feeds, sitemaps and listing
  pages, their validators, children and revisit schedule;
* ``links`` (crawler/state/link_decisions.py): what the run makes of each link and each
  article, against the state as it was at the start, looked up in batches per document;
* ``delivery`` (crawler/state/delivery.py): the batch of changes, the outputs, and the
  two-phase commit around the renames of the output files.

The retry frontier (crawler/frontier/book.py) is written with the delivery too. A page still
owed (after a 503, a timeout, ``max_articles``, or a run stopped half-way) is in the
frontier, not behind a document that must be read again, so a 304 never hides it.

The extension is listed in ``EXTENSIONS``; other components find it with
``crawler.get_extension(RunState)``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.frontier.book import FrontierBook
from crawler.frontier.documents import DocumentBook
from crawler.frontier.retry import RetryPolicy
from crawler.state.checks import ArticleChecks
from crawler.state.delivery import Delivery, os_error_text, recover_deliveries
from crawler.state.link_decisions import Decision, LinkDecisions, title_hash
from crawler.state.lookups import Lookups
from crawler.state.opener import open_stores
from crawler.state.store import Alerts, AnalystReads, RunRecords, SharedStore, StateError, StateStore
from crawler.stats import PREVIOUS_RUN_STAT
from crawler.translation.cache import TranslationCache

__all__ = ["Decision", "RunState", "os_error_text", "recover_deliveries", "title_hash"]


class RunState:
    """Extension: the run's view of the state database and its two-phase delivery."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        spider = crawler.spider
        self.db: StateStore
        # The same store when it is shared between machines (STATE_URL): a shard's claims and results.
        self.shared: SharedStore | None
        self.db, self.shared = open_stores(settings)
        self.started = time.time()
        self.now = int(self.started)
        # The sources spider names the run (crawler/output/names.py); under another spider
        # (a component test) the id needs only to be unique.
        self.run_id = getattr(spider, "run_id", None) or f"{self.now}-{os.getpid()}"
        self.full = bool(getattr(spider, "full", False))
        # One shard of a distributed run: the run it belongs to, and which shard it is.
        self.parent_run: str | None = getattr(spider, "parent_run", None)
        self.shard: int | None = getattr(spider, "shard", None) if self.parent_run else None
        # What the store knew of the links and articles met so far (crawler/state/lookups.py).
        self.lookups = Lookups(self.db)
        self.documents = DocumentBook(self.db, self.started, self.full)
        self.frontier = FrontierBook(self.db, RetryPolicy.from_settings(settings), self.started)
        self.checks = ArticleChecks(self.db, settings, self.started)
        self.delivery = Delivery(crawler, self.db, self.run_id, self.now, self._rest_of_payload, self.checks)
        self.links = LinkDecisions(self.db, self.lookups, self.frontier, self.full, self.delivery.touch)
        if self.shard is None:
            recover_deliveries(self.db)
            self._note_previous_run()
            self.db.start_run(self.run_id, self.now)
        else:
            # Other shards of the run are publishing beside us: only an earlier attempt of
            # this shard is ours to settle. Its file stays (this attempt writes another).
            recover_deliveries(self.db, lambda run_id: run_id == self.run_id)

    def _rest_of_payload(self) -> dict[str, Any]:
        """What the delivery records besides its batch: the URLs met, the documents read, the
        frontier's changes and, for a shard, its files."""
        rows = self.links.url_rows(self.delivery.delivered)
        payload: dict[str, Any] = {"urls": [(key, *row) for key, row in rows.items()]}
        payload["documents"] = self.documents.payload()
        payload.update(self.frontier.payload())
        payload.update(self.checks.payload())
        if self.shard is not None:
            # Applied in the same transaction as the rest: a retry of this shard then knows
            # that its files were delivered, and does not replace them with an emptier run.
            files = [str(p) for p in self.delivery.published]
            payload["shard"] = {"run": self.parent_run, "shard": self.shard, "files": files}
        return payload

    def _note_previous_run(self) -> None:
        """When the last run before this one finished, for the digest of a run with nothing new."""
        try:
            summary = self.db.last_summary()
        except StateError:
            return
        if summary and summary.get("finished"):
            self.crawler.stats.set_value(PREVIOUS_RUN_STAT, str(summary["finished"]))

    @property
    def sharded(self) -> bool:
        return self.shard is not None

    def claim(self, name: str) -> bool:
        """Whether this process emits (or fetches) ``name``: always, unless it is one shard of a
        distributed run, where the first shard to claim it in the shared store does."""
        if self.shard is None or self.parent_run is None:
            return True
        try:
            return self._shared_store().claim(self.parent_run, name, self.shard)
        except StateError as exc:
            # Nothing of this run will be recorded as delivered: emitting is the safe side.
            self.delivery.state_failed(exc)
            return True

    @classmethod
    def of(cls, crawler: Crawler) -> RunState:
        """The crawl's run state; it exists from the start of the crawl (EXTENSIONS)."""
        state = crawler.get_extension(cls)
        if state is None:
            raise RuntimeError("the crawler.state.runstate.RunState extension is disabled in EXTENSIONS")
        return state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunState:
        state = cls(crawler)
        crawler.signals.connect(state.delivery.outputs_closed, signal=signals.feed_exporter_closed)
        crawler.signals.connect(state._count_frontier, signal=signals.spider_closed)
        return state

    def _count_frontier(self) -> None:
        """What the frontier holds per source once the run is over, for the run summary."""
        spider = self.crawler.spider
        for source in getattr(spider, "sources", ()):
            for name, count in self.frontier.counts(source.name).items():
                self.crawler.stats.set_value(f"sources/{source.name}/{name}", count)

    def site_rules(self) -> dict[str, list[list[Any]]]:
        """Clean-param rules learnt by earlier runs, per host."""
        return self.db.site_rules()

    def run_records(self) -> RunRecords:
        """The store as the end of the run sees it (crawler/output/run_summary.py)."""
        return self.db

    def record_shard(self, summary: dict[str, Any]) -> None:
        """This shard's summary and files, for the run's finishing job to merge."""
        if self.parent_run is None or self.shard is None:
            raise StateError("only a shard of a distributed run records a shard")
        files = [str(p) for p in self.delivery.published]
        self._shared_store().record_shard(self.parent_run, self.shard, summary=summary, files=files)

    def _shared_store(self) -> SharedStore:
        if self.shared is None:
            raise StateError("a shard of a distributed run needs STATE_URL")
        return self.shared

    def translation_cache(self) -> TranslationCache:
        """The store as the translation stage sees it: the cache of earlier runs' translations."""
        return self.db

    def alert_store(self) -> Alerts:
        """The store as the alert sender sees it: the alerts owed (crawler/output/alert_sender.py)."""
        return self.db

    def analyst_reads(self) -> AnalystReads:
        """The store as the feeds read it: the newest entries of a source or a watchlist."""
        return self.db

    def story_store(self) -> StateStore:
        """The store, for the story lookups of crawler/stories/ (its StoryLookup protocol)."""
        return self.db

    def close(self) -> None:
        """Release the store; the RunSummary extension calls it once the summary is kept."""
        self.db.close()
