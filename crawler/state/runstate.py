"""What one run remembers, decides and finally records in the state database.

Nothing a run learns is written while it runs. Decisions (new, updated,
unchanged, retry, moved) are made against the database as it was at the
start; the changes collect in a ``Batch`` that is committed in two phases
around the renames of the output files: first as one *delivery* row naming
every file and its identity (inode, size), then, once every output has been
stored, applied. A run killed at any moment therefore leaves the database
describing exactly the files that exist: the next run finds the row and keeps
it only if every file it names is there, as this run wrote it.

What the run learnt of feeds, sitemaps and listing pages (crawler/frontier/documents.py)
and the changes to the retry frontier (crawler/frontier/book.py) follow the same path. A
page still owed (after a 503, a timeout, ``max_articles``, or a run stopped half-way) is in
the frontier, not behind a document that must be read again, so a 304 never hides it.

The extension is listed in ``EXTENSIONS``; other components find it with
``crawler.get_extension(RunState)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from crawler import settings as defaults
from crawler.frontier.book import FrontierBook, FrontierEntry
from crawler.frontier.documents import DocumentBook
from crawler.frontier.retry import RetryKind, RetryPolicy, retry_kind
from crawler.items import ArticleItem
from crawler.parsing.dates import utc_timestamp
from crawler.parsing.markers import has_changed
from crawler.parsing.urls import article_id
from crawler.state.lookups import Lookups
from crawler.state.opener import open_stores
from crawler.state.store import RunRecords, SharedStore, StateError, StateStore
from crawler.stats import PREVIOUS_RUN_STAT, SourceStats
from crawler.translation.cache import TranslationCache

__all__ = ["Batch", "Decision", "RunState", "recover_deliveries", "title_hash"]

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


def title_hash(title: str | None) -> str:
    """Hash of a normalised headline: a changed headline is an edit, a changed space is not."""
    normalised = " ".join(unicodedata.normalize("NFKC", title or "").casefold().split())
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=12).hexdigest()


@dataclass
class Batch:
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    urls: dict[str, tuple[str, dict[str, str], int]] = field(default_factory=dict)
    site_rules: dict[str, list[list[Any]]] = field(default_factory=dict)
    # Story fingerprints (store.encode_print) and edition links (article id -> story id).
    stories: dict[str, list[Any]] = field(default_factory=dict)
    story_links: dict[str, str] = field(default_factory=dict)

    def payload(self, now: int) -> dict[str, Any]:
        return {
            "now": now,
            "articles": list(self.articles.values()),
            "touched": sorted(self.touched - set(self.articles)),
            "urls": [(key, article_id, markers, fails) for key, (article_id, markers, fails) in self.urls.items()],
            "site_rules": sorted(self.site_rules.items()),
            "stories": list(self.stories.values()),
            "story_links": sorted(self.story_links.items()),
        }


@dataclass
class _Output:
    """A file (or stream) the feed exporter writes this run's records to."""

    target: str
    opened: bool = False
    stored: bool = False
    identity: dict[str, Any] | None = None


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
        self.retention_days = settings.getfloat("STATE_RETENTION_DAYS", defaults.STATE_RETENTION_DAYS)
        self.batch = Batch()
        # What the store knew of the links and articles met so far (crawler/state/lookups.py).
        self.lookups = Lookups(self.db)
        self.documents = DocumentBook(self.db, self.started, self.full)
        self.frontier = FrontierBook(self.db, RetryPolicy.from_settings(settings), self.started)
        # URL key -> article id it led to ("" for a page without article), the
        # markers feeds and sitemaps gave it this run, and failed runs so far.
        self.key_article: dict[str, str] = {}
        self.key_failures: dict[str, int] = {}
        self.key_markers: dict[str, dict[str, str]] = {}
        self.fetched_key: dict[str, str] = {}
        self.decisions: dict[str, str] = {}
        self.outputs: dict[str, _Output] = {}
        self.failed_outputs: dict[str, str] = {}
        self.published: list[Path] = []
        self.committed = False
        self._stopping = False
        self.stats = SourceStats(crawler)
        if self.shard is None:
            recover_deliveries(self.db)
            self._note_previous_run()
            self.db.start_run(self.run_id, self.now)
        else:
            # Other shards of the run are publishing beside us: only an earlier attempt of
            # this shard is ours to settle. Its file stays (this attempt writes another).
            recover_deliveries(self.db, lambda run_id: run_id == self.run_id)

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
            self.state_failed(exc)
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
        crawler.signals.connect(state._on_outputs_closed, signal=signals.feed_exporter_closed)
        crawler.signals.connect(state._count_frontier, signal=signals.spider_closed)
        return state

    def _count_frontier(self) -> None:
        """What the frontier holds per source once the run is over, for the run summary."""
        spider = self.crawler.spider
        for source in getattr(spider, "sources", ()):
            for name, count in self.frontier.counts(source.name).items():
                self.crawler.stats.set_value(f"sources/{source.name}/{name}", count)

    # --- articles ------------------------------------------------------------------------

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

    def site_rules(self) -> dict[str, list[list[Any]]]:
        """Clean-param rules learnt by earlier runs, per host."""
        return self.db.site_rules()

    def learn_site_rules(self, host: str, rules: list[list[Any]]) -> None:
        """A host's robots.txt rules (Clean-param), kept for the next runs."""
        self.batch.site_rules[host] = rules

    def skip_known(self, key: str, article_id: str) -> None:
        self.key_article[key] = article_id
        if article_id:
            self.batch.touched.add(article_id)

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

    def retry_items(self, source: str, limit: int) -> list[tuple[ArticleItem, list[str]]]:
        items = []
        for record, keys in self.db.retry_records(source, limit):
            try:
                items.append((ArticleItem(**json.loads(record)), keys))
            except (TypeError, ValueError):
                continue
        return items

    def _moved_from(self, item: ArticleItem, key: str | None) -> str | None:
        """The id of a delivered article this one is, at a new URL (a redirect or a new canonical).

        Either the URL fetched led to that article before, or the source already
        delivered an article with exactly this text."""
        known = self.lookups.known_url(key) if key else None
        if known is not None and known[0] and known[0] != item.id and self.lookups.article(known[0]) is not None:
            return known[0]
        return self.db.article_with_text(item.source, item.content_hash)

    def decide(self, item: ArticleItem) -> str:
        """A ``Decision``; sets ``item.revision``, and ``item.id`` for an article that moved."""
        key = self.fetched_key.get(item.id)
        previous = self.lookups.article(item.id)
        moved = False
        if previous is None and (earlier := self._moved_from(item, key)) is not None:
            # Same article, new address: it keeps its id, so readers see one article.
            item.id, previous, moved = earlier, self.lookups.article(earlier), True
            if key:
                self.key_article[key] = earlier
        if previous is None:
            decision, item.revision = Decision.NEW, 1
        elif previous["content_hash"] != item.content_hash or previous["title_hash"] not in (
            None,
            title_hash(item.title),
        ):
            decision, item.revision = Decision.UPDATED, previous["revision"] + 1
        else:
            item.revision = previous["revision"]
            if self.full:
                decision = Decision.FULL
            elif previous["translation_status"] in RETRANSLATE:
                decision = Decision.RETRY
            else:
                decision = Decision.MOVED if moved else Decision.UNCHANGED
        self.decisions[item.id] = decision
        if decision in (Decision.UNCHANGED, Decision.MOVED):
            self.batch.touched.add(item.id)
        return decision

    def stage(self, item: ArticleItem, story_print: list[Any] | None = None) -> None:
        """The item goes to the output: record it as delivered once the files are published,
        with its story, its fingerprint (``store.encode_print``) and its editions' story."""
        failed = item.translation.get("status") in RETRANSLATE
        if story_print is not None:
            self.batch.stories[item.id] = story_print
        for url in item.editions.values():
            self.batch.story_links.setdefault(article_id(url), item.story_id)
        self.batch.articles[item.id] = {
            "id": item.id,
            "source": item.source,
            "canonical_url": item.canonical_url,
            "content_hash": item.content_hash,
            "title_hash": title_hash(item.title),
            "revision": item.revision,
            "translation_status": item.translation.get("status", "skipped"),
            "story_id": item.story_id or None,
            "retry_record": json.dumps(asdict(item), ensure_ascii=False) if failed else None,
        }

    def keep_for_retry(self, item: ArticleItem) -> None:
        """A retried translation failed again: the article stays as it was delivered."""
        self.batch.touched.add(item.id)

    # --- publishing --------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        # Every URL that led to a delivered or known article (duplicates included) or to
        # a page without article, so that next time none of them is fetched again.
        for key, led_to in self.key_article.items():
            if not led_to or led_to in self.batch.articles or led_to in self.batch.touched:
                self.batch.urls[key] = (led_to, self.key_markers.get(key, {}), self.key_failures.get(key, 0))
        payload = self.batch.payload(self.now)
        payload["documents"] = self.documents.payload()
        payload.update(self.frontier.payload())
        if self.shard is not None:
            # Applied in the same transaction as the rest: a retry of this shard then knows
            # that its files were delivered, and does not replace them with an emptier run.
            payload["shard"] = {"run": self.parent_run, "shard": self.shard, "files": [str(p) for p in self.published]}
        return payload

    def register_output(self, target: str) -> None:
        """An output of this run (called by the feed storages as Scrapy builds them)."""
        self.outputs.setdefault(target, _Output(target))

    def output_opened(self, target: str) -> None:
        self.register_output(target)
        self.outputs[target].opened = True

    def before_publish(self, target: Path, written: Path) -> None:
        """Phase 1: ``written`` is complete and about to be renamed to ``target``."""
        if self.committed or self.failed_outputs:
            return
        info = written.stat()
        output = self.outputs.setdefault(str(target), _Output(str(target), opened=True))
        output.identity = {"path": str(target), "inode": info.st_ino, "size": info.st_size}
        others = [o for o in self.outputs.values() if o is not output and o.opened and not o.stored]
        files = [o.identity for o in self.outputs.values() if o.identity is not None]
        payload = json.dumps(self._payload(), ensure_ascii=False)
        self.db.write_delivery(self.run_id, payload, files, complete=not others)

    def after_publish(self, target: Path) -> None:
        """The file is in place; its deliveries become facts once every output is stored."""
        self.published.append(target)
        self.output_stored(str(target))

    def output_stored(self, target: str) -> None:
        output = self.outputs.setdefault(target, _Output(target, opened=True))
        output.stored = True

    def output_failed(self, target: str, error: BaseException) -> None:
        """An output cannot be written: nothing of this run will count as delivered."""
        if target in self.failed_outputs:
            return
        reason = os_error_text(error)
        self.failed_outputs[target] = reason
        if isinstance(error, StateError):
            # The delivery could not be recorded, so the file was not published.
            self.state_failed(error)
        else:
            self.crawler.stats.inc_value("output/failed")
            logger.error(
                "Output %s cannot be written (%s); stopping the crawl. Nothing of this run is marked "
                "delivered: the next run emits its articles again.",
                target, reason,
            )  # fmt: skip
            with contextlib.suppress(StateError):
                self.db.drop_delivery(self.run_id)
        self._stop_crawl()

    def _stop_crawl(self) -> None:
        engine = self.crawler.engine
        if self._stopping or getattr(engine, "spider", None) is None:
            return
        self._stopping = True
        deferred = deferred_from_coro(engine.close_spider_async(reason="output_failed"))
        deferred.addErrback(lambda failure: None)  # already closing: nothing more to do

    def _on_outputs_closed(self) -> None:
        # Every feed slot has been stored (or has failed). Outputs that are not our
        # atomic files (S3, FTP, ...) report failures only through Scrapy's stats.
        stats = self.crawler.stats.get_stats()
        failures = sum(v for k, v in stats.items() if k.startswith("feedexport/failed_count/"))
        if self.committed:
            return
        unstored = [o.target for o in self.outputs.values() if o.opened and not o.stored]
        if failures or self.failed_outputs or unstored:
            with contextlib.suppress(StateError):
                self.db.drop_delivery(self.run_id)
            if not self.failed_outputs:
                self.crawler.stats.inc_value("output/failed")
                logger.error(
                    "An output could not be stored (%s); nothing of this run is marked delivered",
                    ", ".join(unstored) or "see the error above",
                )
            return
        try:
            self.db.apply(self._payload())
            self.db.drop_delivery(self.run_id)
        except StateError as exc:
            self.state_failed(exc)
            return
        self.committed = True

    def state_failed(self, error: StateError) -> None:
        """The state database stopped taking writes: nothing more of this run is recorded."""
        if self.crawler.stats.get_value("state/failed"):
            return
        self.crawler.stats.inc_value("state/failed")
        logger.error("%s; this run's deliveries are not recorded: the next run emits its articles again", error)

    def run_records(self) -> RunRecords:
        """The store as the end of the run sees it (crawler/output/run_summary.py)."""
        return self.db

    def record_shard(self, summary: dict[str, Any]) -> None:
        """This shard's summary and files, for the run's finishing job to merge."""
        if self.parent_run is None or self.shard is None:
            raise StateError("only a shard of a distributed run records a shard")
        files = [str(p) for p in self.published]
        self._shared_store().record_shard(self.parent_run, self.shard, summary=summary, files=files)

    def _shared_store(self) -> SharedStore:
        if self.shared is None:
            raise StateError("a shard of a distributed run needs STATE_URL")
        return self.shared

    def translation_cache(self) -> TranslationCache:
        """The store as the translation stage sees it: the cache of earlier runs' translations."""
        return self.db

    def story_store(self) -> StateStore:
        """The store, for the story lookups of crawler/stories/ (its StoryLookup protocol)."""
        return self.db

    def close(self) -> None:
        """Release the store; the RunSummary extension calls it once the summary is kept."""
        self.db.close()


def recover_deliveries(db: StateStore, only: Callable[[str], bool] | None = None) -> None:
    """Settle what interrupted runs left half-published: a delivery whose every file is in
    place, as the run wrote it, is applied; any other is dropped (its articles come again).
    ``only``: just the deliveries of the run ids it accepts (a distributed run's shards)."""
    for run_id, payload, files, complete in db.deliveries():
        if only is not None and not only(run_id):
            continue
        kept = complete and bool(files) and all(_same_file(entry) for entry in files)
        if kept:
            db.apply(json.loads(payload))
        db.drop_delivery(run_id)
        _log_recovery(run_id, ", ".join(str(entry["path"]) for entry in files) or "(no file)", kept)


def _log_recovery(run_id: str, paths: str, kept: bool) -> None:
    logger.warning(
        "State: run %s was interrupted while publishing %s; its deliveries were %s",
        run_id, paths, "kept (the file is complete)" if kept else "dropped (its output never appeared whole)",
    )  # fmt: skip


def _same_file(entry: dict[str, Any]) -> bool:
    """Whether the file at entry["path"] is still the one a run renamed there."""
    try:
        info = os.stat(entry["path"])
    except (OSError, KeyError, TypeError):
        return False
    return info.st_ino == entry.get("inode") and info.st_size == entry.get("size")


def os_error_text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror} [errno {error.errno}]{where}"
    return f"{type(error).__name__}: {error}"
