"""What one run remembers, decides and finally records in the state database.

Nothing a run learns is written while it runs. Decisions (new, updated,
unchanged, retry) are made against the database as it was at the start; the
changes collect in a ``Batch`` that is committed in two phases around the
rename of the output file: first as *pending* rows naming the file, then, once
the file is in place, applied. A run killed at any moment therefore leaves the
database describing exactly the files that exist: the next run finds pending
rows, keeps them if their file exists and drops them otherwise.

Feed and sitemap validators (ETag, Last-Modified) follow the same path, and a
document's validators are kept only when every article it listed was dealt
with for good; otherwise a 304 next time would hide the articles still owed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.items import ArticleItem
from crawler.state import StateDB
from crawler.stats import SourceStats, per_source
from crawler.summary import build_summary, format_table, write_summary

__all__ = ["Batch", "RunState", "run_state"]

logger = logging.getLogger(__name__)

# Outcomes after which a page need not be fetched again (unless its marker changes).
PERMANENT_REJECTIONS = frozenset({"no_article", "not_html", "http_404", "http_410", "empty"})


@dataclass
class Batch:
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    urls: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def payload(self, now: int) -> dict[str, Any]:
        return {
            "now": now,
            "articles": list(self.articles.values()),
            "touched": sorted(self.touched - set(self.articles)),
            "urls": [(key, article_id, markers) for key, (article_id, markers) in self.urls.items()],
            "validators": [(url, etag, modified) for url, (etag, modified) in self.validators.items()],
        }


@dataclass
class _Document:
    """A feed, sitemap or listing fetched this run."""

    etag: str | None
    last_modified: str | None
    parent: str | None = None
    complete: bool = True


def run_state(crawler: Crawler) -> RunState:
    """The crawl's one RunState, created on first use."""
    state = getattr(crawler, "_sources_run_state", None)
    if state is None:
        state = RunState(crawler)
        crawler._sources_run_state = state  # type: ignore[attr-defined]
    return state


class RunState:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.db = StateDB(settings.get("STATE_DB"))
        self.started = time.time()
        self.now = int(self.started)
        self.run_id = datetime.fromtimestamp(self.started, UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        self.full = False
        self.retention_days = settings.getfloat("STATE_RETENTION_DAYS", 90)
        self.batch = Batch()
        self.documents: dict[str, _Document] = {}
        # URL key -> article id it led to ("" for a page without article), and the
        # markers feeds and sitemaps gave it this run.
        self.key_article: dict[str, str] = {}
        self.key_markers: dict[str, dict[str, str]] = {}
        self.decisions: dict[str, str] = {}
        self.published: list[Path] = []
        self.committed = False
        self.stats = SourceStats(crawler)
        self._recover()
        self.db.start_run(self.run_id, self.now)
        crawler.signals.connect(self._on_feed_exporter_closed, signal=signals.feed_exporter_closed)
        crawler.signals.connect(self._on_engine_stopped, signal=signals.engine_stopped)

    # --- recovery of an interrupted run ----------------------------------------------

    def _recover(self) -> None:
        for run_id, path, probe_id, payload in self.db.pending():
            file = Path(path)
            kept = file.exists() and (
                probe_id is None or probe_id in file.read_text(encoding="utf-8", errors="replace")
            )
            if kept:
                self.db.apply(json.loads(payload))
            self.db.drop_pending(run_id, path)
            logger.warning(
                "State: run %s was interrupted while publishing %s; its deliveries were %s",
                run_id, path, "kept (the file is complete)" if kept else "dropped (the file never appeared)",
            )  # fmt: skip

    # --- discovery documents ------------------------------------------------------------

    def conditional_headers(self, url: str) -> dict[str, str]:
        if self.full:
            return {}
        etag, modified = self.db.validators(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        return headers

    def document_fetched(self, url: str, etag: str | None, last_modified: str | None, parent: str | None) -> None:
        self.documents[url] = _Document(etag, last_modified, parent)

    def document_unchanged(self, url: str, parent: str | None) -> None:
        etag, modified = self.db.validators(url)
        self.documents[url] = _Document(etag, modified, parent)

    def document_incomplete(self, url: str | None) -> None:
        """Something a document listed is still owed: keep asking for the whole document."""
        seen = set()
        while url and url not in seen:
            seen.add(url)
            document = self.documents.get(url)
            if document is None:
                return
            document.complete = False
            url = document.parent

    # --- articles ------------------------------------------------------------------------

    def see(self, key: str, marker: str | None, document: str | None) -> None:
        """A feed or sitemap listed ``key``, with this marker; remembered for next time."""
        if marker and document:
            self.key_markers.setdefault(key, {})[document] = marker

    def known(self, key: str, marker: str | None, document: str | None) -> str | None:
        """The article id (or "" for a page without article) when ``key`` need not be fetched."""
        if self.full:
            return None
        known = self.db.known_url(key)
        if known is None:
            return None
        article_id, _ = known
        if self.changed(key, marker, document):
            return None
        if article_id:
            article = self.db.article(article_id)
            if article is None or article["translation_status"] == "failed":
                return None
        return article_id

    def changed(self, key: str, marker: str | None, document: str | None) -> bool:
        """Whether ``document`` now gives ``key`` a different marker than it did last time.

        Markers are only compared within one document: a feed's pubDate and a
        sitemap's lastmod for the same article differ and mean nothing together."""
        if not (marker and document):
            return False
        known = self.db.known_url(key)
        return known is not None and known[1].get(document) not in (None, marker)

    def skip_known(self, key: str, article_id: str) -> None:
        self.key_article[key] = article_id
        if article_id:
            self.batch.touched.add(article_id)

    def note_fetch(self, article_id: str, key: str) -> None:
        self.key_article[key] = article_id

    def note_rejected(self, key: str | None, reason: str, document: str | None) -> None:
        if reason in PERMANENT_REJECTIONS:
            if key:
                self.key_article[key] = ""
        else:
            self.document_incomplete(document)

    def retry_items(self, source: str, limit: int) -> list[tuple[ArticleItem, list[str]]]:
        items = []
        for record, keys in self.db.retry_records(source, limit):
            try:
                items.append((ArticleItem(**json.loads(record)), keys))
            except (TypeError, ValueError):
                continue
        return items

    def decide(self, item: ArticleItem) -> str:
        """new / updated / retry / unchanged / full, and set ``item.revision``."""
        previous = self.db.article(item.id)
        if previous is None:
            decision, item.revision = "new", 1
        elif previous["content_hash"] != item.content_hash:
            decision, item.revision = "updated", previous["revision"] + 1
        else:
            item.revision = previous["revision"]
            if self.full:
                decision = "full"
            elif previous["translation_status"] == "failed":
                decision = "retry"
            else:
                decision = "unchanged"
        self.decisions[item.id] = decision
        if decision == "unchanged":
            self.batch.touched.add(item.id)
        return decision

    def stage(self, item: ArticleItem) -> None:
        """The item goes to the output: record it as delivered once the file is published."""
        failed = item.translation.get("status") == "failed"
        self.batch.articles[item.id] = {
            "id": item.id,
            "source": item.source,
            "canonical_url": item.canonical_url,
            "content_hash": item.content_hash,
            "revision": item.revision,
            "translation_status": item.translation.get("status", "skipped"),
            "retry_record": json.dumps(asdict(item), ensure_ascii=False) if failed else None,
        }

    def keep_for_retry(self, item: ArticleItem) -> None:
        """A retried translation failed again: the article stays as it was delivered."""
        self.batch.touched.add(item.id)

    # --- publishing --------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        # Every URL that led to a delivered or known article (duplicates included) or to
        # a page without article, so that next time none of them is fetched again.
        for key, article_id in self.key_article.items():
            if not article_id or article_id in self.batch.articles or article_id in self.batch.touched:
                self.batch.urls[key] = (article_id, self.key_markers.get(key, {}))
        for url, document in self.documents.items():
            if document.complete:
                self.batch.validators[url] = (document.etag, document.last_modified)
        return self.batch.payload(self.now)

    def probe_id(self) -> str | None:
        """An id the published file must contain (the file name alone is reused by -O)."""
        return next(reversed(self.batch.articles), None)

    def before_publish(self, path: Path, probe_id: str | None) -> None:
        """Phase 1: called with the finished temporary file, just before the rename."""
        if not self.committed:
            self.db.write_pending(self.run_id, str(path), probe_id, json.dumps(self._payload(), ensure_ascii=False))

    def after_publish(self, path: Path) -> None:
        """Phase 2: the file is in place; the deliveries it holds are now facts."""
        self.published.append(path)
        if not self.committed:
            self.db.apply(self._payload())
            self.committed = True
        self.db.drop_pending(self.run_id, str(path))

    def _on_feed_exporter_closed(self) -> None:
        # Outputs that are not our atomic files (stdout, S3, ...), and runs with no
        # file at all, commit here, when every feed has been stored.
        failures = sum(v for k, v in self.crawler.stats.get_stats().items() if k.startswith("feedexport/failed_count/"))
        if not self.committed and not failures:
            self.db.apply(self._payload())
            self.committed = True

    def _on_engine_stopped(self) -> None:
        try:
            summary = build_summary(
                per_source(self.crawler.stats.get_stats()),
                run_id=self.run_id,
                started=self.started,
                finished=time.time(),
                outputs=[str(p) for p in self.published],
                committed=self.committed,
                finish_reason=self.crawler.stats.get_value("finish_reason"),
                full=self.full,
            )
            for source in summary["failed_sources"]:
                self.crawler.stats.inc_value("summary/failed_sources")
                logger.error("Source %s produced nothing because of errors", source)
            logger.info("Run summary:\n%s", format_table(summary))
            for path in self.published:
                write_summary(path, summary)
            self.db.finish_run(self.run_id, int(time.time()), json.dumps(summary, ensure_ascii=False))
            if self.retention_days > 0:
                pruned = self.db.prune(self.now - int(self.retention_days * 86400))
                if any(pruned.values()):
                    logger.info("State: pruned entries not seen for %g days: %s", self.retention_days, pruned)
        finally:
            self.db.close()
