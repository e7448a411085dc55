"""What ``scrapy sources check NAME`` says about how a source's pages were reached: the
browser's figures, and whether the source looks as if it needs ``render`` or a ``proxy``.

Read from the counters of a check's crawl (crawler/stats.py), so the advice rests on what
the site answered this time: pages that look built by scripts or are script challenges,
statuses that refuse a network (401, 403, 407, 451, 429), walls, and a site that cannot be
reached from here at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from crawler.config.fetch_options import RenderMode
from crawler.config.sources_file import Source
from crawler.stats import Count

__all__ = ["browser_figures", "fetch_advice"]

# Statuses with which sites turn away a network (a country, a datacentre) rather than a page.
_REFUSING = ("http_401", "http_403", "http_407", "http_429", "http_451")
_UNREACHABLE = ("connection", "timeout", "dns")


def _count(stats: Mapping[str, int], *keys: str) -> int:
    return sum(int(stats.get(key, 0) or 0) for key in keys)


def browser_figures(stats: Mapping[str, int]) -> str | None:
    """``4 pages rendered in 5.2 s (2 after a plain page needed it), 1 failed, 9 connections refused``."""
    pages, failed = _count(stats, Count.RENDERED), _count(stats, Count.RENDER_FAILED)
    if not pages and not failed:
        return None
    seconds = _count(stats, Count.RENDER_MS) / 1000
    text = f"{pages} page(s) rendered in {seconds:.1f} s"
    if auto := _count(stats, Count.RENDER_AUTO):
        text += f" ({auto} after the plain page needed it)"
    extras = [(failed, "failed"), (_count(stats, Count.RENDER_STILL_BLOCKED), "still behind a wall"),
              (_count(stats, Count.RENDER_REFUSED), "connection(s) refused by the network guard")]  # fmt: skip
    return text + "".join(f", {count} {what}" for count, what in extras if count)


def fetch_advice(source: Source, stats: Mapping[str, int]) -> list[str]:
    """Suggestions for the sources file, from one check's counters of ``source``."""
    advice = []
    needed = _count(stats, Count.RENDER_NEEDED)
    if needed and source.fetch.render is RenderMode.OFF:
        advice.append(
            f"{needed} page(s) look built by JavaScript or are a script challenge: try render: auto"
            " (or render: true if every article page is)"
        )
    refusing = _count(
        stats, *(f"{where}/{status}" for where in ("discovery/failed", "not_emitted") for status in _REFUSING)
    )
    walls = _count(stats, "not_emitted/blocked") + _count(stats, Count.RENDER_STILL_BLOCKED)
    unreachable = _count(stats, *(f"discovery/failed/{reason}" for reason in _UNREACHABLE))
    reached = _count(stats, Count.DISCOVERY_OK, Count.DISCOVERY_NOT_MODIFIED)
    if refusing or walls:
        where = "even through its proxy: try a proxy in another place" if source.fetch.proxy else (
            "it may refuse this network (a country, a datacentre): try proxy: {url: ..., credentials_env: ...}"
        )  # fmt: skip
        advice.append(f"the site refused {refusing} request(s) and put up {walls} wall(s); {where}")
    if unreachable and not reached:
        where = "check the proxy" if source.fetch.proxy else "it may be blocked from here: try proxy:"
        advice.append(f"the site could not be reached ({unreachable} discovery request(s) failed); {where}")
    return advice
