"""When a page that could not be fetched is asked for again, and when it is given up.

A site under load answers 5xx, times out or resets connections; a bot wall serves a block
page for a while; a page listed before it goes live answers 404. Each such moment used to
lose the page for good once the feed that listed it moved on. Instead the page stays owed
(crawler/frontier/book.py) and is asked again on later runs, whether or not any feed still
lists it, after a pause that doubles with each failure, until it comes or the limit of
``RETRY_GIVE_UP_AFTER`` is reached: a number of runs *and* a span of hours, so that neither
a burst of quick cron runs nor one long outage gives a page up early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["DEFAULT_GIVE_UP_AFTER", "RetryKind", "RetryPolicy", "parse_give_up_after", "retry_kind"]

# Eight failed runs over at least two days: a page that long unavailable is gone or blocked
# for good, and the pauses below have asked for it about ten times by then.
DEFAULT_GIVE_UP_AFTER = "8 runs, 48h"
# The pause after the first failure; it doubles after each further one, up to the cap.
FIRST_PAUSE = 10 * 60.0
MAX_PAUSE = 12 * 3600.0
# A page listed before it goes live (404, 410) is tried on this many runs in all, with no
# span of hours: a page gone from a site does not come back.
NOT_LIVE_RUNS = 3

_NOT_LIVE = frozenset({"http_404", "http_410"})
# HTTP statuses that say "not now" rather than "never": server errors, rate limits, and the
# refusals a bot wall or a geo-block gives (RBC answers 401 to datacentres, TASS 403).
_PASSING_STATUSES = frozenset({"http_401", "http_403", "http_408", "http_425", "http_429"})
# Failures of the connection or of the page itself that may pass.
_PASSING = frozenset({
    "timeout", "connection", "dns", "tcptimedout", "responseneverreceived",
    "blocked", "extraction_timeout", "extraction_error",
})  # fmt: skip


class RetryKind(StrEnum):
    RETRY = "retry"  # may pass: asked again until RETRY_GIVE_UP_AFTER
    NOT_LIVE = "not_live"  # 404/410 of a page never delivered: NOT_LIVE_RUNS in all


def retry_kind(reason: str) -> RetryKind | None:
    """How a page that failed for ``reason`` is asked again; None when the failure is final."""
    if reason in _NOT_LIVE:
        return RetryKind.NOT_LIVE
    if reason in _PASSING or reason in _PASSING_STATUSES or re.fullmatch(r"http_5\d\d", reason):
        return RetryKind.RETRY
    return None


_RUNS = re.compile(r"(\d+)\s*(?:runs?)\b", re.IGNORECASE)
_HOURS = re.compile(r"(\d+(?:\.\d+)?)\s*(h|hours?|d|days?)\b", re.IGNORECASE)


def parse_give_up_after(value: Any) -> tuple[int, float]:
    """``RETRY_GIVE_UP_AFTER`` → (runs, hours). "8 runs, 48h", "10 runs", "3d", or (runs, hours).

    Raises ValueError with a sentence for people when it cannot be read."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), float(value[1])
    text = str(value).strip()
    runs, hours = _RUNS.search(text), _HOURS.search(text)
    rest = _HOURS.sub("", _RUNS.sub("", text)).replace(",", "").replace("and", "").strip()
    if (runs is None and hours is None) or rest:
        raise ValueError(f"RETRY_GIVE_UP_AFTER={text!r}: say it in runs and hours, for example '8 runs, 48h'")
    span = 0.0
    if hours is not None:
        span = float(hours.group(1)) * (24 if hours.group(2).lower().startswith("d") else 1)
    return (int(runs.group(1)) if runs else 1), span


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """RETRY_GIVE_UP_AFTER, read once per run."""

    runs: int = 8
    hours: float = 48.0

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        runs, hours = parse_give_up_after(settings.get("RETRY_GIVE_UP_AFTER") or DEFAULT_GIVE_UP_AFTER)
        return cls(max(1, runs), max(0.0, hours))

    @staticmethod
    def pause(attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure before asking again."""
        return min(MAX_PAUSE, FIRST_PAUSE * 2 ** max(0, attempts - 1))

    def gives_up(self, reason: str, attempts: int, first_failed: float, now: float) -> bool:
        """Whether a page that has now failed ``attempts`` times (the last for ``reason``) is given up."""
        if retry_kind(reason) == RetryKind.NOT_LIVE:
            return attempts >= NOT_LIVE_RUNS
        return attempts >= self.runs and now - first_failed >= self.hours * 3600

    def describe(self) -> str:
        return f"{self.runs} runs and {self.hours:g} hours"
