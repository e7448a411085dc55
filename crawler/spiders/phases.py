"""A source's two phases in a run: new articles first, then what it owes from before.

In the *fresh* phase a source's due feeds, sitemaps and listing pages are read and their new
articles requested. Once every fresh document of the source has answered, its *backlog*
starts: article pages owed by earlier runs (over their quota, or a run stopped before them),
then the archives a backfill still has to read, newest first, while the run's quota for the
source lasts. New articles therefore never wait behind a backfill, and a backfill that needs
ten runs continues where the last one stopped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from enum import StrEnum

from crawler.frontier.schedule import Planned
from crawler.parsing.dates import unix_time
from crawler.parsing.url_dates import Period, url_period

__all__ = ["Phase", "SourcePhases"]

# Backfill documents of one source in flight at once: newest first, and none read for
# nothing once the quota is used up.
BACKFILL_IN_FLIGHT = 2


class Phase(StrEnum):
    FRESH = "fresh"
    BACKFILL = "backfill"


def _dated(plan: Planned) -> float:
    """How recent an archive document is, for reading the newest first."""
    period = Period(plan.day, plan.day) if plan.day is not None else url_period(plan.url)
    if period is not None:
        return period.end()
    return unix_time(plan.listed) or 0.0


class SourcePhases:
    def __init__(self) -> None:
        self.fresh: Counter[str] = Counter()
        self.backfilling: Counter[str] = Counter()
        self.started: set[str] = set()
        self._queue: dict[str, list[Planned]] = defaultdict(list)

    def expect(self, source: str, phase: Phase) -> None:
        """A discovery request of ``source`` in ``phase`` is on its way."""
        (self.fresh if phase == Phase.FRESH else self.backfilling)[source] += 1

    def answered(self, source: str, phase: Phase) -> bool:
        """One came back; True when the source's fresh phase is over and its backlog may start."""
        counter = self.fresh if phase == Phase.FRESH else self.backfilling
        counter[source] = max(0, counter[source] - 1)
        return self.ready(source)

    def ready(self, source: str) -> bool:
        return self.fresh[source] == 0 and source not in self.started

    def start_backlog(self, source: str) -> None:
        self.started.add(source)

    def queue(self, source: str, plans: list[Planned]) -> None:
        """Archives to read in the backlog phase."""
        if plans:
            queued = self._queue[source]
            known = {plan.url for plan in queued}
            queued += [plan for plan in plans if plan.url not in known]
            queued.sort(key=_dated, reverse=True)

    def take(self, source: str) -> Planned | None:
        """The next archive to read, if fewer than BACKFILL_IN_FLIGHT are on their way."""
        queued = self._queue.get(source)
        if not queued or self.backfilling[source] >= BACKFILL_IN_FLIGHT or source not in self.started:
            return None
        return queued.pop(0)

    def queued(self, source: str) -> int:
        return len(self._queue.get(source, ()))
