"""Atom feeds of the English stream, one per source and one per watchlist, under FEEDS_DIR
(``sources/NAME.atom``, ``watchlists/NAME.atom``), for any static web server or feed reader.

Once a run's delivery is recorded, each feed of the run's sources and of every watchlist is
rendered from the state's search index (crawler/state/watch_rows.py: the articles as last
delivered, the newest FEED_ENTRIES first) and replaced atomically (a temporary file, fsync,
rename): a reader never sees half a feed. A feed whose document did not change is not written,
so its modification time tells a conditional GET the truth. A feed that cannot be written is an
error in the log and leaves the delivery as it is.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import settings as defaults
from crawler.files import fsync_dir
from crawler.output.atom import FeedInfo, render_feed
from crawler.output.watchlists import Watchlists
from crawler.state.delivery import os_error_text
from crawler.state.runstate import RunState
from crawler.state.store import StateError

__all__ = ["AtomFeeds", "write_if_changed"]

logger = logging.getLogger(__name__)


def write_if_changed(path: Path, document: bytes) -> bool:
    """``document`` at ``path``, atomically, unless it is there already; whether it was written."""
    try:
        if path.read_bytes() == document:
            return False
    except OSError:
        pass  # no such file yet (or unreadable): write it
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(document)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # served as it is: readable by the web server
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


class AtomFeeds:
    def __init__(self, crawler: Crawler, directory: Path, entries: int, base_url: str | None):
        self.crawler, self.directory, self.entries = crawler, directory, entries
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        directory = settings.get("FEEDS_DIR", defaults.FEEDS_DIR)
        if not directory or (crawler.spider is not None and not hasattr(crawler.spider, "sources")):
            raise NotConfigured
        entries = settings.getint("FEED_ENTRIES", defaults.FEED_ENTRIES)
        if entries <= 0:
            raise NotConfigured
        feeds = cls(crawler, Path(directory), entries, settings.get("FEEDS_BASE_URL"))
        crawler.signals.connect(feeds.write_feeds, signal=signals.feed_exporter_closed)
        return feeds

    def _wanted(self) -> list[FeedInfo]:
        spider = self.crawler.spider
        infos = [
            FeedInfo("sources", s.name, f"{s.name} in English (sources-crawler)", self._self("sources", s.name))
            for s in getattr(spider, "sources", ())
        ]
        watchlists = Watchlists.of(self.crawler)
        for watchlist in watchlists.config.watchlists if watchlists is not None else ():
            title = f"Watchlist {watchlist.name} (sources-crawler)"
            infos.append(FeedInfo("watchlists", watchlist.name, title, self._self("watchlists", watchlist.name)))
        return infos

    def _self(self, kind: str, name: str) -> str | None:
        return f"{self.base_url}{kind}/{name}.atom" if self.base_url else None

    async def write_feeds(self) -> None:
        reads = RunState.of(self.crawler).analyst_reads()
        feeds: list[tuple[FeedInfo, list[dict[str, Any]]]] = []
        try:
            for info in self._wanted():
                feeds.append((info, reads.feed_entries(info.kind, info.name, self.entries)))
        except StateError as exc:
            logger.error("Feeds not written: the state cannot be read (%s)", exc)
            self.crawler.stats.inc_value("feeds/failed")
            return
        await deferred_to_future(deferToThread(self._write_all, feeds))

    def _write_all(self, feeds: list[tuple[FeedInfo, list[dict[str, Any]]]]) -> None:
        """In a thread: render and write each feed."""
        stats = self.crawler.stats
        for info, rows in feeds:
            path = self.directory / info.kind / f"{info.name}.atom"
            try:
                if write_if_changed(path, render_feed(info, rows)):
                    stats.inc_value("feeds/written")
            except OSError as exc:
                stats.inc_value("feeds/failed")
                logger.error("Feed %s cannot be written (%s); it keeps its last version", path, os_error_text(exc))
