"""Health rules: pure functions from a source's run history to its figures and flags."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from crawler import settings as defaults
from crawler.config.setting_types import settings_config
from crawler.health.history import SourceRun, runs_of

__all__ = ["Flag", "HealthRules", "SourceHealth", "assess", "assess_all", "duration", "usual_gap"]

DAY = 86400.0
HOUR = 3600.0
# Longer than DISCOVERY_REVISIT_MAX_HOURS: every document still in the sources file answered in it.
ANSWERED_WITHIN = 2 * DAY


class Flag(StrEnum):
    SILENT = "silent"  # nothing new for much longer than the source's usual gap
    FAILING = "failing"  # discovery errors in the last N runs in a row
    FROZEN = "frozen"  # its feeds answer, but their newest item is old
    DEGRADED = "degraded"  # the share of pages refused jumped against its history
    TRANSLATION_FAILING = "translation_failing"  # every translation failed in the last N runs that had any
    REFUSED = "refused"  # every article its last run fetched was refused


@dataclass(frozen=True, slots=True)
class HealthRules:
    """Thresholds; each is a HEALTH_* setting (README, "Source health")."""

    window_days: int = defaults.HEALTH_WINDOW_DAYS
    history_days: float = defaults.HEALTH_HISTORY_DAYS
    silent_factor: float = defaults.HEALTH_SILENT_FACTOR
    silent_min_hours: float = defaults.HEALTH_SILENT_MIN_HOURS
    min_history_days: float = defaults.HEALTH_MIN_HISTORY_DAYS
    min_gaps: int = defaults.HEALTH_MIN_GAPS
    failing_runs: int = defaults.HEALTH_FAILING_RUNS
    frozen_days: float = defaults.CHECK_FROZEN_DAYS
    degraded_jump: float = defaults.HEALTH_DEGRADED_JUMP
    degraded_runs: int = defaults.HEALTH_DEGRADED_RUNS
    degraded_min_pages: int = defaults.HEALTH_DEGRADED_MIN_PAGES

    @classmethod
    def from_settings(cls, settings: Any) -> HealthRules:
        """HEALTH_<FIELD> for each field; HEALTH_FROZEN_DAYS falls back to CHECK_FROZEN_DAYS,
        which `scrapy sources check` uses too."""
        rules = settings_config(cls, settings, "HEALTH_")
        if "HEALTH_FROZEN_DAYS" not in settings:
            rules = replace(rules, frozen_days=settings.getfloat("CHECK_FROZEN_DAYS", defaults.CHECK_FROZEN_DAYS))
        return rules


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    runs: int
    per_day: tuple[int, ...]  # new articles per UTC day, oldest first, today last
    last_new: float | None
    usual_gap: float | None  # seconds; None while the history is too short to tell
    quiet: float | None  # seconds from the last new article to the source's last run
    failed_streak: int
    refused_recent: float | None  # share of pages refused in the last runs
    refused_usual: float | None  # the same share before them
    newest_listed: float | None  # newest item its answering documents listed
    refusals: dict[str, int]
    last_error: str | None
    last_error_at: float | None
    retry_pending: int  # pages the last run left to be asked again (the retry frontier)
    given_up: int  # pages given up within the window, each logged with its reason
    flags: tuple[Flag, ...]
    reasons: tuple[str, ...]  # one sentence per flag
    removed: int = 0  # delivered articles reported removed within the window
    edited_unannounced: int = 0  # edits within the window that only a revisit found

    def as_dict(self) -> dict[str, Any]:
        return {"flags": [str(flag) for flag in self.flags], "reasons": list(self.reasons)}


def usual_gap(times: Sequence[float], quantile: float = 0.95) -> float:
    """The gap between new articles that covers ``quantile`` of the time they span.

    Weighted by duration, not by count: a source that posts every 15 minutes by day and
    sleeps 6 hours a night spends a quarter of its time in that long gap, so a quiet night
    is usual; an unweighted 95th percentile would call every night silent."""
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times) if later > earlier)
    total = sum(gaps)
    covered = 0.0
    for gap in gaps:
        covered += gap
        if covered >= quantile * total:
            return gap
    return gaps[-1] if gaps else 0.0


def _per_day(runs: Sequence[SourceRun], now: float, days: int) -> tuple[int, ...]:
    today = math.floor(now / DAY)
    counts = [0] * days
    for run in runs:
        index = days - 1 - (today - math.floor(run.finished / DAY))
        if 0 <= index < days:
            counts[index] += run.new
    return tuple(counts)


def _refused_share(runs: Sequence[SourceRun]) -> tuple[float | None, int]:
    pages = sum(run.pages for run in runs)
    return (sum(run.refused_count for run in runs) / pages if pages else None), pages


def duration(seconds: float | None) -> str:
    """A span for people: 40 s, 25 min, 6.0 h, 3.5 d."""
    if seconds is None:
        return "-"
    if seconds >= 2 * DAY:
        return f"{seconds / DAY:.1f} d"
    if seconds >= HOUR:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _silence(runs: Sequence[SourceRun], rules: HealthRules) -> tuple[float | None, float | None, str | None]:
    """(usual gap, quiet time, reason if silent)."""
    times = [run.finished for run in runs if run.new > 0]
    if not times:
        return None, None, None
    quiet = runs[-1].finished - times[-1]
    enough = len(times) - 1 >= rules.min_gaps and runs[-1].finished - runs[0].finished >= rules.min_history_days * DAY
    if not enough:
        return None, quiet, None  # a new source is still learning its rhythm
    gap = usual_gap(times)
    limit = max(rules.silent_factor * gap, rules.silent_min_hours * HOUR)
    if quiet <= limit:
        return gap, quiet, None
    return gap, quiet, f"nothing new for {duration(quiet)}; it usually publishes within {duration(gap)}"


def _frozen(runs: Sequence[SourceRun], gap: float | None, rules: HealthRules) -> tuple[float | None, str | None]:
    """(newest item its answering documents ever listed, reason if frozen).

    Judged per kind of document: a feed that stopped moving is frozen even while the
    sitemap still brings articles in. The kinds are those that answered lately, not only in
    the last run: a feed unchanged for days is asked about once a day (the revisit policy)."""
    recent = [run for run in runs if run.finished >= runs[-1].finished - ANSWERED_WITHIN]
    answered = frozenset().union(*(run.answered for run in recent))
    newest: dict[str, float] = {}
    for run in runs:
        for kind, moment in run.newest.items():
            if kind in answered:
                newest[kind] = max(moment, newest.get(kind, moment))
    if not newest:
        return None, None
    limit = rules.frozen_days * DAY if gap is None else max(rules.silent_factor * gap, rules.silent_min_hours * HOUR)
    ages = {kind: runs[-1].finished - moment for kind, moment in newest.items()}
    stale = sorted(kind for kind, age in ages.items() if age > limit)
    if not stale:
        return max(newest.values()), None
    said = ", ".join(f"{kind} {duration(ages[kind])}" for kind in stale)
    return max(newest.values()), f"its documents answer, but their newest item is old ({said})"


def _degraded(runs: Sequence[SourceRun], rules: HealthRules) -> tuple[float | None, float | None, str | None]:
    recent, earlier = runs[-rules.degraded_runs :], runs[: -rules.degraded_runs]
    now_share, now_pages = _refused_share(recent)
    usual_share, usual_pages = _refused_share(earlier)
    if now_share is None or usual_share is None:
        return now_share, usual_share, None
    if now_pages < rules.degraded_min_pages or usual_pages < rules.degraded_min_pages:
        return now_share, usual_share, None
    if now_share - usual_share < rules.degraded_jump:
        return now_share, usual_share, None
    reasons = Counter[str]()
    for run in recent:
        reasons.update(run.refused)
    top = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common(3))
    return now_share, usual_share, f"{now_share:.0%} of pages refused lately ({top}), usually {usual_share:.0%}"


def _failed_streak(runs: Sequence[SourceRun]) -> int:
    streak = 0
    for run in reversed(runs):
        if not run.discovery_failed:
            break
        streak += 1
    return streak


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in counts.most_common(3))


def _failing(runs: Sequence[SourceRun], streak: int, rules: HealthRules) -> str | None:
    if streak < rules.failing_runs:
        return None
    errors: Counter[str] = Counter()
    for run in runs[-streak:]:
        errors.update(run.discovery_errors)
    return (
        f"discovery failed in the last {streak} runs ({_listed(errors)})"
        if errors
        else (f"discovery failed in the last {streak} runs")
    )


def _translation_failing(runs: Sequence[SourceRun], rules: HealthRules) -> str | None:
    """Every translation failed in each of the last HEALTH_FAILING_RUNS runs that sent any."""
    tried = [run for run in runs if run.translation_tried][-rules.failing_runs :]
    if len(tried) < rules.failing_runs or any(run.translated for run in tried):
        return None
    # The last run's failures by kind: summed over runs, one article failing three times would
    # read as three articles.
    last = tried[-1].translation_failures
    return (
        f"every translation failed in the last {len(tried)} runs that had articles to translate "
        f"(last run: {_listed(Counter(last)) or 'failed'}): the provider is down or unreachable; "
        "articles go out untranslated and are retried"
    )


def _all_refused(runs: Sequence[SourceRun]) -> str | None:
    """The last run that fetched pages had every one of them refused (or every link it found
    led off the source's domains)."""
    fetched = [run for run in runs if run.pages or run.status == "refused"]
    if not fetched or fetched[-1].status != "refused":
        return None
    return fetched[-1].reason or "every article fetched was refused"


def assess(name: str, runs: Sequence[SourceRun], now: float, rules: HealthRules) -> SourceHealth:
    """Figures and flags for one source from its runs (oldest first)."""
    if not runs:
        return SourceHealth(
            name, 0, (0,) * rules.window_days, None, None, None, 0, None, None, None, {}, None, None, 0, 0, (), ()
        )  # never crawled
    gap, quiet, silent = _silence(runs, rules)
    newest, frozen = _frozen(runs, gap, rules)
    refused_recent, refused_usual, degraded = _degraded(runs, rules)
    streak = _failed_streak(runs)
    found = [
        (Flag.SILENT, silent), (Flag.FAILING, _failing(runs, streak, rules)), (Flag.FROZEN, frozen),
        (Flag.DEGRADED, degraded), (Flag.TRANSLATION_FAILING, _translation_failing(runs, rules)),
        (Flag.REFUSED, _all_refused(runs)),
    ]  # fmt: skip
    window = [run for run in runs if run.finished >= now - rules.window_days * DAY]
    refusals = Counter[str]()
    for run in window:
        refusals.update(run.refused)
    with_errors = [run for run in runs if run.errors]
    last_error = with_errors[-1] if with_errors else None
    return SourceHealth(
        name=name,
        runs=len(runs),
        per_day=_per_day(runs, now, rules.window_days),
        last_new=max((run.finished for run in runs if run.new > 0), default=None),
        usual_gap=gap,
        quiet=quiet,
        failed_streak=streak,
        refused_recent=refused_recent,
        refused_usual=refused_usual,
        newest_listed=newest,
        refusals=dict(refusals.most_common()),
        last_error=", ".join(f"{k} {v}" for k, v in last_error.errors.items()) if last_error else None,
        last_error_at=last_error.finished if last_error else None,
        retry_pending=runs[-1].retry_pending,
        given_up=sum(run.given_up for run in window),
        removed=sum(run.removed for run in window),
        edited_unannounced=sum(run.edited_unannounced for run in window),
        flags=tuple(flag for flag, reason in found if reason),
        reasons=tuple(reason for _, reason in found if reason),
    )


def assess_all(
    history: Sequence[tuple[float, dict[str, Any]]], names: Sequence[str], now: float, rules: HealthRules
) -> dict[str, SourceHealth]:
    """Health of each named source from the stored history ((finished, summary), oldest first)."""
    return {name: assess(name, runs_of(history, name), now, rules) for name in names}
