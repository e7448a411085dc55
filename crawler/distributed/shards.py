"""Which shard crawls which sources: pure functions of the sources file.

Work is split by site, not by request: politeness (download_delay, concurrency, robots.txt)
is a promise to a site, and it holds only while one process owns the site for the run. So
sources sharing a site (crawler/net/politeness.py) always land in the same shard, and a
site's shard is a stable hash of the site: the same machine-independent split every run,
and adding a source moves no other site.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from crawler.config.sources_file import Source
from crawler.net.politeness import site_slots

__all__ = ["assign_shards", "shard_feeds", "shard_of"]


def shard_of(site: str, shards: int) -> int:
    """The stable shard (0 … shards-1) of a site key."""
    digest = hashlib.blake2b(site.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % max(shards, 1)


def assign_shards(sources: Iterable[Source], shards: int) -> dict[int, tuple[str, ...]]:
    """{shard: source names} for the shards that have any, each site's sources together."""
    sources = list(sources)
    slots = site_slots(sources)
    assigned: dict[int, list[str]] = {}
    for source in sources:
        assigned.setdefault(shard_of(slots[source.name], shards), []).append(source.name)
    return {shard: tuple(names) for shard, names in sorted(assigned.items())}


def shard_feeds(feeds: dict[str, Any], shard: int, attempt: int = 1) -> dict[str, Any]:
    """FEEDS for one shard: each file gets ``-s<k>`` before its extension, so shards publish
    side by side (``sources-<run_time>-s3.jsonl``); a retry writes ``-s3-r2`` beside what the
    first attempt published. Standard output and remote URIs are kept."""
    tag = f"-s{shard}" + (f"-r{attempt}" if attempt > 1 else "")
    result: dict[str, Any] = {}
    for uri, options in feeds.items():
        text = str(uri)
        if text in ("-", "stdout:") or ("://" in text and not text.startswith("file://")):
            result[text] = options
            continue
        prefix = "file://" if text.startswith("file://") else ""
        path = PurePosixPath(text.removeprefix(prefix))
        suffix = path.suffix
        stem = path.name[: len(path.name) - len(suffix)]
        result[prefix + str(path.with_name(f"{stem}{tag}{suffix}"))] = options
    return result
