"""The health table printed by `scrapy sources health` and the HEALTH column of `sources list`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crawler.health.assess import SourceHealth, duration
from crawler.parsing.dates import utc_timestamp
from crawler.text_table import format_table

__all__ = ["format_health", "health_json"]


def _share(recent: float | None, usual: float | None) -> str:
    if recent is None:
        return "-"
    return f"{recent:.0%}" + (f" (usually {usual:.0%})" if usual is not None else "")


def _row(health: SourceHealth, enabled: bool) -> list[str]:
    days = len(health.per_day)
    return [
        health.name,
        "yes" if enabled else "no",
        str(health.runs),
        f"{sum(health.per_day) / days:.1f}" if days else "-",
        utc_timestamp(health.last_new) if health.last_new else "-",
        duration(health.usual_gap) if health.usual_gap is not None else ("learning" if health.runs else "-"),
        duration(health.quiet),
        str(health.failed_streak),
        _share(health.refused_recent, health.refused_usual),
        str(health.retry_pending),
        str(health.given_up),
        str(health.edited_unannounced),
        str(health.removed),
        ", ".join(health.flags) or "ok",
    ]


def format_health(healths: Sequence[SourceHealth], enabled: Iterable[str]) -> str:
    """One row per source, then one line per flag saying why."""
    on = set(enabled)
    header = ["SOURCE", "ENABLED", "RUNS", "NEW/DAY", "LAST NEW", "USUAL GAP", "QUIET", "FAILED RUNS", "REFUSED"]
    header += ["RETRYING", "GIVEN UP", "EDITED", "REMOVED", "HEALTH"]
    rows = [header] + [_row(health, health.name in on) for health in healths]
    lines = format_table(rows)
    why = [f"  {health.name}: {reason}" for health in healths for reason in health.reasons]
    why += [
        f"  {health.name}: {health.given_up} page(s) given up lately (each logged with its reason); "
        f"{health.retry_pending} still to be asked again"
        for health in healths
        if health.given_up
    ]
    return "\n".join(lines + (["", *why] if why else []))


def health_json(healths: Sequence[SourceHealth], enabled: Iterable[str]) -> dict[str, object]:
    on = set(enabled)
    return {
        health.name: {
            "enabled": health.name in on,
            "runs": health.runs,
            "new_per_day": list(health.per_day),
            "last_new": utc_timestamp(health.last_new) if health.last_new else None,
            "usual_gap_seconds": health.usual_gap,
            "quiet_seconds": health.quiet,
            "failed_streak": health.failed_streak,
            "refused_recent": health.refused_recent,
            "refused_usual": health.refused_usual,
            "refusals": health.refusals,
            "last_error": health.last_error,
            "retry_pending": health.retry_pending,
            "removed": health.removed,
            "edited_unannounced": health.edited_unannounced,
            "given_up": health.given_up,
            **health.as_dict(),
        }
        for health in healths
    }
