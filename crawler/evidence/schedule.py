"""When a delivered article is fetched again, to catch what its site changes without saying so.

Outlets correct a figure or soften a headline in the first hours, and take pages down in the
first days; a feed or sitemap announces few of these. Each delivered article is therefore asked
for again at fixed ages after it was first seen (``REVISIT_AFTER``, default 1 h, 6 h, 24 h and
72 h; a source's ``revisit:`` key overrides it, ``revisit: false`` turns it off). A cron run
that comes late asks once, not once per missed age: the next check is the first age still
ahead.

A check that met a failure that passes (5xx, a timeout, a robots.txt refusal) is asked again
an hour later without using up its age; a page that seemed gone is asked again once
``REMOVAL_CONFIRM_AFTER`` has passed, to confirm it before anyone is told (crawler/evidence/removal.py).
After a confirmed removal the page is still asked at its remaining ages, and once a day for a
week after them, so that a page that comes back is reported back.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler import settings as defaults
from crawler.config.windows import parse_duration, parse_revisits

__all__ = ["RevisitSchedule", "parse_revisits"]

# A check that could not tell (5xx, timeout, robots.txt) is tried again after this long.
RETRY_AFTER = 3600.0
# After its last age, a removed page is looked at once a day for this many days.
REMOVED_WATCH_DAYS = 7
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class RevisitSchedule:
    """The ages (seconds after first seen) at which an article is checked again."""

    ages: tuple[float, ...]
    confirm_after: float = 3600.0

    @classmethod
    def from_settings(cls, settings: object) -> RevisitSchedule:
        get = settings.get  # type: ignore[attr-defined]
        ages = parse_revisits(get("REVISIT_AFTER", defaults.REVISIT_AFTER))
        if isinstance(ages, str):
            raise ValueError(f"REVISIT_AFTER: {ages}")
        confirm = parse_duration(str(get("REMOVAL_CONFIRM_AFTER", defaults.REMOVAL_CONFIRM_AFTER)))
        if isinstance(confirm, str):
            raise ValueError(f"REMOVAL_CONFIRM_AFTER: {confirm}")
        return cls(ages, confirm.total_seconds())

    def with_ages(self, ages: tuple[float, ...] | None) -> RevisitSchedule:
        """The source's own ages (its ``revisit:`` key), when it has them."""
        return self if ages is None else RevisitSchedule(ages, self.confirm_after)

    def next_check(self, first_seen: float, now: float) -> float | None:
        """The first age of the article still ahead of ``now``; None when none is."""
        return next((first_seen + age for age in self.ages if first_seen + age > now), None)

    def after_removal(self, first_seen: float, removed: float, now: float) -> float | None:
        """When a removed page is looked at next: its remaining ages, then daily for a week."""
        scheduled = self.next_check(first_seen, now)
        if scheduled is not None:
            return scheduled
        last = max((first_seen + age for age in self.ages), default=removed)
        until = max(last, removed) + REMOVED_WATCH_DAYS * DAY
        return now + DAY if now + DAY <= until else None
