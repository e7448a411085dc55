"""Source health rules (crawler/health/assess.py) on synthetic run histories: who is flagged
and who is left alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.health.assess import DAY, HOUR, Flag, HealthRules, assess, usual_gap
from crawler.health.history import SourceRun

RULES = HealthRules()
NOW = 1_800_000_000.0  # a Unix time; every history below ends here
RUN = 15 * 60  # cron every 15 minutes


def history(days: float, new: Callable[[float], int], **per_run: object) -> list[SourceRun]:
    """Runs every 15 minutes for ``days`` up to NOW; ``new(t)`` new articles in the run at t."""
    count = int(days * DAY / RUN)
    runs = []
    for index in range(count + 1):
        moment = NOW - (count - index) * RUN
        fresh = new(moment)
        runs.append(SourceRun(finished=moment, new=fresh, pages=fresh, answered=frozenset({"feed"}), **per_run))  # type: ignore[arg-type]
    return runs


def every(minutes: float) -> Callable[[float], int]:
    return lambda t: 1 if int(t // (minutes * 60)) != int((t - RUN) // (minutes * 60)) else 0


def until(cutoff: float, new: Callable[[float], int]) -> Callable[[float], int]:
    return lambda t: new(t) if t <= cutoff else 0


def daytime(t: float) -> int:
    """A newsroom that posts every 15 minutes from 06:00 to 24:00 UTC and sleeps at night."""
    return 1 if (t % DAY) / HOUR >= 6 else 0


def bursty(t: float) -> int:
    """Five articles at once, roughly every 8 hours, with irregular pauses."""
    slot = int(t // RUN)
    return 5 if slot % 32 == 0 or slot % 53 == 0 else 0


def weekly(t: float) -> int:
    return 1 if int(t // RUN) % (7 * 96) == 0 else 0


def flags(runs: list[SourceRun], rules: HealthRules = RULES) -> set[Flag]:
    return set(assess("s", runs, NOW, rules).flags)


CASES = {
    "regular, every 20 minutes": (history(14, every(20)), set()),
    "quiet at night, now at 05:00 (5 hours quiet)": (history(14, daytime)[:-4], set()),
    "bursty": (history(14, bursty), set()),
    "weekly blog, quiet 2 days": (history(30, until(NOW - 2 * DAY, weekly)), set()),
    "added an hour ago": (history(1 / 24, lambda t: 0), set()),
    "added yesterday, quiet since": (history(1, until(NOW - 20 * HOUR, every(20))), set()),
    "every 20 minutes, quiet for 6 hours": (history(14, until(NOW - 6 * HOUR, every(20))), {Flag.SILENT}),
    "quiet at night, silent all day": (history(14, until(NOW - 1.5 * DAY, daytime)), {Flag.SILENT}),
    "bursty, nothing for 3 days": (history(14, until(NOW - 3 * DAY, bursty)), {Flag.SILENT}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_silent_only_when_quiet_is_unusual_for_the_source(case: str) -> None:
    runs, expected = CASES[case]
    assert flags(runs) == expected


def test_usual_gap_is_weighted_by_time_not_by_count() -> None:
    # 60 gaps of 15 minutes by day and one 9-hour night: a fifth of the time is the night.
    day = [i * 900.0 for i in range(61)]
    times = [*day, day[-1] + 9 * HOUR]
    assert usual_gap(times) == 9 * HOUR
    assert usual_gap([0.0, 600.0, 1200.0, 1800.0]) == 600.0
    assert usual_gap([5.0]) == 0.0


def test_failing_after_consecutive_runs_with_discovery_errors() -> None:
    runs = history(3, every(20))
    broken = [SourceRun(finished=NOW + i * RUN, discovery_failed=1, errors={"dns": 1}) for i in range(1, 4)]
    assert Flag.FAILING in flags([*runs, *broken[:3]])
    assert Flag.FAILING not in flags([*runs, *broken[:2]]), "two failed runs are not a streak yet"
    recovered = [*runs, *broken[:2], SourceRun(finished=NOW + 4 * RUN, new=1, pages=1)]
    health = assess("s", recovered, NOW + 4 * RUN, RULES)
    assert Flag.FAILING not in health.flags and health.failed_streak == 0
    assert health.last_error == "dns 1", "the last error is kept after the source recovers"


def test_frozen_when_a_feed_answers_with_old_items_only() -> None:
    runs = history(14, every(20))
    fresh = [SourceRun(**{**_fields(run), "newest": {"feed": run.finished - 60}}) for run in runs]
    assert Flag.FROZEN not in flags(fresh)
    # The feed stopped moving 8 hours ago, while the sitemap keeps giving new articles.
    stuck = [
        SourceRun(
            **{
                **_fields(run),
                "answered": frozenset({"feed", "sitemap"}),
                "newest": {"feed": min(run.finished, NOW - 8 * HOUR), "sitemap": run.finished - 60},
            }
        )
        for run in runs
    ]
    assert flags(stuck) == {Flag.FROZEN}, "frozen, not silent: articles still come through the sitemap"
    assert "feed" in assess("s", stuck, NOW, RULES).reasons[0]


def test_a_frozen_feed_asked_once_a_day_stays_frozen_in_the_runs_between() -> None:
    """The revisit policy asks a feed unchanged for days about once a day: the runs that did not
    ask it must not clear the flag."""
    runs = history(14, every(20))
    sparse = [
        SourceRun(
            **{
                **_fields(run),
                "answered": frozenset({"feed", "sitemap"} if number % 5 == 0 else {"sitemap"}),
                "newest": {"sitemap": run.finished - 60} | ({"feed": NOW - 9 * DAY} if number % 5 == 0 else {}),
            }
        )
        for number, run in enumerate(runs)
    ]
    assert not sparse[-1].answered >= {"feed"}, "the last run did not ask the feed"
    assert flags(sparse) == {Flag.FROZEN}


def test_frozen_on_a_young_source_uses_frozen_days() -> None:
    """No rhythm known yet: a feed whose newest item is older than HEALTH_FROZEN_DAYS."""
    runs = [SourceRun(finished=NOW, answered=frozenset({"feed"}), newest={"feed": NOW - 40 * DAY})]
    assert flags(runs) == {Flag.FROZEN}
    runs = [SourceRun(finished=NOW, answered=frozenset({"feed"}), newest={"feed": NOW - 2 * DAY})]
    assert flags(runs) == set()
    not_answered = [SourceRun(finished=NOW, discovery_failed=1, newest={"feed": NOW - 40 * DAY})]
    assert Flag.FROZEN not in flags(not_answered), "a feed that does not answer is failing, not frozen"


def test_degraded_when_refusals_jump_against_history() -> None:
    runs = history(7, every(20))
    normal = [SourceRun(**{**_fields(run), "pages": run.new + 1, "refused": {"no_article": 1}}) for run in runs]
    # Refusals were usual (a video page now and then): half the pages. That is not a jump.
    assert Flag.DEGRADED not in flags(normal)
    redesign = [
        SourceRun(finished=NOW + i * RUN, new=0, pages=4, refused={"no_article": 4}, answered=frozenset({"feed"}))
        for i in range(1, 4)
    ]
    health = assess("s", [*runs, *redesign], NOW + 3 * RUN, RULES)
    assert Flag.DEGRADED in health.flags
    assert health.refused_recent == 1.0 and health.refused_usual == 0.0
    blocked = [SourceRun(**{**_fields(run), "refused": {"blocked": 4}}) for run in redesign]
    assert Flag.DEGRADED in flags([*normal, *blocked], RULES)
    one_refusal = [SourceRun(finished=NOW + RUN, pages=1, refused={"no_article": 1})]
    assert Flag.DEGRADED not in flags([*runs, *one_refusal]), "too few pages to tell"


def test_new_articles_per_day_and_window() -> None:
    runs = history(20, every(60))
    health = assess("s", runs, NOW, RULES)
    assert len(health.per_day) == 14
    assert sum(health.per_day[:-1]) == 13 * 24, "24 a day on every full day of the window"
    assert health.last_new == max(run.finished for run in runs if run.new)


def _fields(run: SourceRun) -> dict[str, object]:
    return {name: getattr(run, name) for name in SourceRun.__dataclass_fields__}
