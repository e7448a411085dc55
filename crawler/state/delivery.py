"""A run's delivery: what it records in the state, committed in two phases around the renames
of its output files, so that a run killed at any moment leaves the state describing exactly
the files that exist.

Nothing a run learns is written while it runs. The changes collect in a ``Batch``; as the
last output file is about to be renamed into place, they are written as one *delivery* row
naming every file and its identity (inode, size); once every output has been stored, the row
is applied. The next run settles a row left behind (``recover_deliveries``): kept only if
every file it names is there, as the run wrote it; dropped otherwise, and its articles come
again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from crawler.items import ArticleItem
from crawler.parsing.urls import article_id
from crawler.state.checks import ArticleChecks
from crawler.state.link_decisions import RETRANSLATE, title_hash
from crawler.state.store import StateError, StateStore

__all__ = ["Batch", "Delivery", "os_error_text", "recover_deliveries"]

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    site_rules: dict[str, list[list[Any]]] = field(default_factory=dict)
    # Story fingerprints (store.encode_print) and edition links (article id -> story id).
    stories: dict[str, list[Any]] = field(default_factory=dict)
    story_links: dict[str, str] = field(default_factory=dict)
    # Webhook alerts owed (crawler/output/watchlists.py), recorded once per watchlist and story.
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, now: int) -> dict[str, Any]:
        return {
            "now": now,
            "articles": list(self.articles.values()),
            "touched": sorted(self.touched - set(self.articles)),
            "site_rules": sorted(self.site_rules.items()),
            "stories": list(self.stories.values()),
            "story_links": sorted(self.story_links.items()),
            "alerts": self.alerts,
        }


@dataclass
class _Output:
    """A file (or stream) the feed exporter writes this run's records to."""

    target: str
    opened: bool = False
    stored: bool = False
    identity: dict[str, Any] | None = None


class Delivery:
    """``more`` gives the rest of the run's payload: documents, frontier, URLs, the shard."""

    def __init__(
        self, crawler: Crawler, store: StateStore, run_id: str, now: int, more: Callable[[], dict[str, Any]],
        checks: ArticleChecks,
    ):  # fmt: skip
        self.crawler, self.store, self.run_id, self.now, self._more = crawler, store, run_id, now, more
        self.checks = checks
        self.batch = Batch()
        self.outputs: dict[str, _Output] = {}
        self.failed_outputs: dict[str, str] = {}
        self.published: list[Path] = []
        self.committed = False
        self._stopping = False

    # --- what the run records -----------------------------------------------------------

    def touch(self, article_id: str) -> None:
        """A delivered article seen again this run: its row is kept fresh."""
        self.batch.touched.add(article_id)

    def delivered(self, article_id: str) -> bool:
        """Whether this run delivers ``article_id`` or saw it again."""
        return article_id in self.batch.articles or article_id in self.batch.touched

    def learn_site_rules(self, host: str, rules: list[list[Any]]) -> None:
        """A host's robots.txt rules (Clean-param), kept for the next runs."""
        self.batch.site_rules[host] = rules

    def stage_alert(self, alert: dict[str, Any]) -> None:
        """A webhook alert, recorded with the delivery (so never for an article not delivered)."""
        self.batch.alerts.append(alert)

    def stage(self, item: ArticleItem, story_print: list[Any] | None = None, first_seen: float | None = None) -> None:
        """The item goes to the output: record it as delivered once the files are published,
        with its story, its fingerprint (``store.encode_print``), its editions' story and its
        evidence (``first_seen``: when the article was, if before this run)."""
        # A removal keeps the English it had: it is never translated again from the state.
        removal = (item.change or {}).get("kind") == "removed"
        failed = item.translation.get("status") in RETRANSLATE and not removal
        self.checks.delivered(item, first_seen)
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

    def payload(self) -> dict[str, Any]:
        return {**self.batch.payload(self.now), **self._more()}

    # --- the outputs and the two phases ------------------------------------------------------

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
        payload = json.dumps(self.payload(), ensure_ascii=False)
        self.store.write_delivery(self.run_id, payload, files, complete=not others)

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
            self._drop()
        self._stop_crawl()

    def _drop(self) -> None:
        try:
            self.store.drop_delivery(self.run_id)
        except StateError as exc:  # the next run drops it: its files are not all there
            logger.debug("State: this run's delivery row stays for the next run to drop (%s)", exc)

    def _stop_crawl(self) -> None:
        engine = self.crawler.engine
        if self._stopping or getattr(engine, "spider", None) is None:
            return
        self._stopping = True
        deferred = deferred_from_coro(engine.close_spider_async(reason="output_failed"))
        deferred.addErrback(lambda failure: None)  # already closing: nothing more to do

    def outputs_closed(self) -> None:
        """Phase 2, once every feed slot has been stored (or has failed). Outputs that are not
        our atomic files (S3, FTP, ...) report failures only through Scrapy's stats."""
        stats = self.crawler.stats.get_stats()
        failures = sum(v for k, v in stats.items() if k.startswith("feedexport/failed_count/"))
        if self.committed:
            return
        unstored = [o.target for o in self.outputs.values() if o.opened and not o.stored]
        if failures or self.failed_outputs or unstored:
            self._drop()
            if not self.failed_outputs:
                self.crawler.stats.inc_value("output/failed")
                logger.error(
                    "An output could not be stored (%s); nothing of this run is marked delivered",
                    ", ".join(unstored) or "see the error above",
                )
            return
        try:
            self.store.apply(self.payload())
            self.store.drop_delivery(self.run_id)
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
