"""The step-by-step account ``scrapy sources check`` prints: each discovery document and
article page a checked source's crawl met, whether it worked and why not, and where its
article links led outside ``allowed_domains``. Kept only when the crawl is asked for it
(``-a report=1``), and bounded."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

__all__ = ["CheckReport"]

MAX_EVENTS = 1000


class CheckReport:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.events: list[dict[str, Any]] = []
        # Per source, the hosts of article links outside allowed_domains.
        self.offsite_links: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, source: str, step: str, url: str, ok: bool, detail: str, warning: bool = False) -> None:
        if self.enabled and len(self.events) < MAX_EVENTS:
            event = {"source": source, "step": step, "url": url, "ok": ok, "detail": detail, "warning": warning}
            self.events.append(event)

    def offsite(self, source: str, host: str) -> None:
        self.offsite_links[source][host] += 1
