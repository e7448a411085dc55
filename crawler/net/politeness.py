"""One download slot per site: a source's politeness covers every host it reaches.

Scrapy keeps one download slot (delay, concurrency) per host name. News sites
spread over many hosts: articles on section subdomains (war., news., sport.),
feeds on a host of their own (rss.unian.net for www.unian.ua), sitemaps on a CDN.
Per-host slots would let the crawler hit a site once per host at the same time,
and give the source's ``download_delay`` only to the hosts named in the sources
file. So each site gets one slot that every request of its sources goes through:
sources sharing a domain (the Ukrainian and Russian editions of one outlet)
share it, and its delay is the largest any of them asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crawler.config.sources_file import Source
from crawler.parsing.urls import host_of

__all__ = ["download_slots", "site_slots"]


def _domains(source: Source) -> set[str]:
    hosts = {host_of(url).removeprefix("www.") for url in source.discovery_urls}
    return set(source.allowed_domains) | {host for host in hosts if host}


def _overlap(first: set[str], second: set[str]) -> bool:
    return any(a == b or a.endswith("." + b) or b.endswith("." + a) for a in first for b in second)


def site_slots(sources: Iterable[Source]) -> dict[str, str]:
    """{source name: slot key}; sources whose domains overlap share a key."""
    groups: list[tuple[set[str], list[str]]] = []
    for source in sources:
        domains, names = _domains(source), [source.name]
        for group in [g for g in groups if _overlap(g[0], domains)]:
            groups.remove(group)
            domains |= group[0]
            names += group[1]
        groups.append((domains, names))
    return {name: f"site:{min(domains)}" for domains, names in groups for name in names}


def download_slots(sources: Iterable[Source], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """DOWNLOAD_SLOTS entries for the sites' slots: the largest ``download_delay`` and the
    smallest ``concurrency`` of their sources, where any source sets them."""
    sources = list(sources)
    slots: dict[str, Any] = dict(existing or {})
    keys = site_slots(sources)
    for source in sources:
        key = keys[source.name]
        current = dict(slots.get(key, {}))
        if source.download_delay is not None:
            current["delay"] = max(float(current.get("delay", 0.0)), source.download_delay)
            # No jitter: download_delay is promised as a minimum (randomize_delay: Scrapy < 2.19).
            current.update(jitter=0, randomize_delay=False)
        if source.concurrency is not None:
            current["concurrency"] = min(int(current.get("concurrency", source.concurrency)), source.concurrency)
        if current:
            slots[key] = current
    return slots
