"""Per-source counters kept in Scrapy's stats collector under ``sources/<name>/...``."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

__all__ = ["PREVIOUS_RUN_STAT", "SourceStats", "per_source"]

PREFIX = "sources/"
# When the run before this one finished (the state extension sets it; the digest reads it).
PREVIOUS_RUN_STAT = "run/previous_finished"


class SourceStats:
    """Names the counters once so the spider, pipelines and the summary agree."""

    def __init__(self, crawler: Crawler):
        self._crawler = crawler

    @property
    def _stats(self) -> Any:
        # Looked up on use: Scrapy creates the stats collector after the spider.
        return self._crawler.stats

    def inc(self, source: str, key: str, count: int = 1) -> None:
        self._stats.inc_value(f"{PREFIX}{source}/{key}", count)

    def touch(self, source: str) -> None:
        """Make a source appear in the stats even when nothing happens to it."""
        self._stats.inc_value(f"{PREFIX}{source}/discovered", 0)

    def discovery_ok(self, source: str) -> None:
        self.inc(source, "discovery/ok")

    def answered(self, source: str, kind: str, newest: float | None = None) -> None:
        """A discovery document of ``kind`` answered (200 or 304); ``newest`` is the Unix time
        of its newest dated entry, for source health to tell a frozen feed."""
        self.inc(source, f"answered/{kind}")
        if newest is not None:
            self._stats.max_value(f"{PREFIX}{source}/newest/{kind}", int(newest))

    def discovery_failed(self, source: str, reason: str) -> None:
        self.inc(source, f"discovery/failed/{reason}")
        self.inc(source, "discovery/failed")

    def not_emitted(self, source: str, reason: str) -> None:
        self.inc(source, f"not_emitted/{reason}")
        self._stats.inc_value(f"articles/not_emitted/{reason}")

    def emitted(self, source: str) -> None:
        self.inc(source, "emitted")


def per_source(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Regroup flat ``sources/<name>/<key>`` stats into {name: {key: value}}."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in stats.items():
        if not key.startswith(PREFIX):
            continue
        name, _, rest = key[len(PREFIX) :].partition("/")
        grouped.setdefault(name, {})[rest] = value
    return grouped
