"""Output retention: a crawl run from cron every 15 minutes writes an output and its summary
each time (empty when nothing is new), 192 files a day. With OUTPUT_RETENTION_DAYS set, the
run first deletes the files its own output templates wrote more than that many days ago.

Only names the crawler makes are touched: each local FEEDS path whose file name carries a
run's clock (``%(run_time)s``, ``%(run_id)s``, ``%(time)s``, ``%(batch_time)s``) becomes a
pattern (crawler/output/names.py), with a shard's tag, the summary and a distributed run's
manifest beside it. A fixed name (``-o today.jsonl``) is one file that is overwritten, never
a pile, and is left alone; so is anything else in the directory. The run's state keeps its own
history (STATE_RETENTION_DAYS), so health and ``list`` do not depend on these files.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import settings as defaults
from crawler.output.names import (
    MANIFEST_SUFFIX,
    PARAMETER_PATTERNS,
    SHARD_TAG_PATTERN,
    SUMMARY_SUFFIX,
    TIMESTAMP_PARAMETERS,
)

__all__ = ["OutputRetention", "RetentionConfig", "Sweep", "output_patterns", "sweep"]

logger = logging.getLogger(__name__)

_PARAMETER = re.compile(r"%\((\w+)\)s")
_SHARD_TAG = re.compile(r"-s\d+(?:-r\d+)?$")
# A parameter of the user's own (any spider attribute can fill a feed path) matches one name.
_ANY_PARAMETER = r"[\w.-]+"


def _local_path(uri: str) -> PurePosixPath | None:
    if uri in ("-", "stdout:") or ("://" in uri and not uri.startswith("file://")):
        return None
    return PurePosixPath(uri.removeprefix("file://"))


def output_patterns(feed_uris: Iterable[str]) -> dict[Path, list[re.Pattern[str]]]:
    """{directory: file-name patterns} for the local feed templates whose files pile up: those
    whose file name carries a timestamp parameter, in a directory without parameters."""
    found: dict[Path, list[re.Pattern[str]]] = {}
    for uri in feed_uris:
        path = _local_path(str(uri))
        if path is None or _PARAMETER.search(str(path.parent)):
            continue
        if not TIMESTAMP_PARAMETERS & set(_PARAMETER.findall(path.name)):
            continue
        suffix = path.suffix if not _PARAMETER.search(path.suffix) else ""
        # A shard's own FEEDS carry its tag; its pattern covers every shard and retry.
        stem = _SHARD_TAG.sub("", path.name[: len(path.name) - len(suffix)])
        pieces = _PARAMETER.split(stem)
        body = "".join(
            re.escape(piece) if index % 2 == 0 else f"(?:{PARAMETER_PATTERNS.get(piece, _ANY_PARAMETER)})"
            for index, piece in enumerate(pieces)
        )
        ext = re.escape(suffix)
        tails = "|".join([ext, ext + re.escape(SUMMARY_SUFFIX), re.escape(MANIFEST_SUFFIX)])
        pattern = re.compile(f"{body}{SHARD_TAG_PATTERN}(?:{tails})")
        found.setdefault(Path(str(path.parent)), []).append(pattern)
    return found


@dataclass(frozen=True)
class Sweep:
    removed: int = 0
    freed: int = 0
    failed: tuple[tuple[Path, str], ...] = ()


def sweep(directory: Path, patterns: list[re.Pattern[str]], older_than: float) -> Sweep:
    """Delete the files in ``directory`` matching one of ``patterns`` last written before
    ``older_than`` (a Unix time). A file another worker removed first is not a failure."""
    removed = freed = 0
    failed: list[tuple[Path, str]] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return Sweep()
    except OSError as exc:
        return Sweep(failed=((directory, exc.strerror or type(exc).__name__),))
    for entry in entries:
        if entry.name.startswith(".") or not any(p.fullmatch(entry.name) for p in patterns):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False) or info.st_mtime >= older_than:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            failed.append((Path(entry.path), exc.strerror or type(exc).__name__))
            continue
        removed += 1
        freed += info.st_size
    return Sweep(removed, freed, tuple(failed))


def _size(octets: int) -> str:
    if octets < 1024:
        return f"{octets} bytes"
    return f"{octets / 1024:.1f} KiB" if octets < 1024 * 1024 else f"{octets / 1024 / 1024:.1f} MiB"


@dataclass(frozen=True)
class RetentionConfig:
    days: float
    patterns: Mapping[Path, list[re.Pattern[str]]]

    @classmethod
    def from_settings(cls, settings: Any) -> RetentionConfig:
        days = settings.getfloat("OUTPUT_RETENTION_DAYS", defaults.OUTPUT_RETENTION_DAYS)
        feeds = settings.getdict("FEEDS") or settings.getdict("DEFAULT_FEEDS")
        return cls(days=days, patterns=output_patterns(feeds))


class OutputRetention:
    """Sweeps old outputs when the spider opens, on a thread, before anything is written:
    on a full disk the sweep is what makes room for this run."""

    def __init__(self, crawler: Crawler, config: RetentionConfig):
        self.crawler = crawler
        self.config = config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutputRetention:
        config = RetentionConfig.from_settings(crawler.settings)
        if config.days <= 0:
            raise NotConfigured  # bare: with a message Scrapy logs a WARNING on every run
        if not config.patterns:
            raise NotConfigured  # bare: with a message Scrapy logs a WARNING on every run
        extension = cls(crawler, config)
        crawler.signals.connect(extension._on_spider_opened, signal=signals.spider_opened)
        return extension

    async def _on_spider_opened(self) -> None:
        older_than = time.time() - self.config.days * 86400
        work = deferToThread(
            lambda: [(d, sweep(d, patterns, older_than)) for d, patterns in self.config.patterns.items()]
        )
        self._report(await maybe_deferred_to_future(work))

    def _report(self, results: list[tuple[Path, Sweep]]) -> None:
        stats = self.crawler.stats
        for directory, result in results:
            if result.removed:
                stats.inc_value("output/retention_removed", result.removed)
                logger.info(
                    "Output retention: removed %d file(s) older than %g days from %s (%s)",
                    result.removed,
                    self.config.days,
                    directory,
                    _size(result.freed),
                )
            if result.failed:
                stats.inc_value("output/retention_failed", len(result.failed))
                path, reason = result.failed[0]
                more = f" and {len(result.failed) - 1} more" if len(result.failed) > 1 else ""
                logger.warning("Output retention: cannot remove %s (%s)%s", path, reason, more)
