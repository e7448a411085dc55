"""`scrapy sources report`: one self-contained HTML page (inline CSS and SVG, no scripts, no
external assets) so that it can be mailed, archived or opened offline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from crawler.health.assess import DAY, SourceHealth, duration
from crawler.parsing.dates import utc_timestamp

__all__ = ["ReportRow", "bar_chart", "render_report"]

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;
vertical-align:top}th{background:#f4f4f4}.flag{display:inline-block;padding:0 6px;margin:1px;border-radius:3px;
background:#c62828;color:#fff;font-size:12px}.ok{color:#2e7d32}.off{color:#888}.why{font-size:12px;color:#555}
.totals{display:flex;gap:2em;flex-wrap:wrap;margin-bottom:1.5em}.totals div{background:#f4f4f4;padding:8px 12px}
svg.chart rect{fill:#1565c0}svg.chart rect.empty{fill:#e0e0e0}
"""


@dataclass(frozen=True, slots=True)
class ReportRow:
    health: SourceHealth
    language: str | None
    enabled: bool


def bar_chart(per_day: Sequence[int], now: float, width: int = 168, height: int = 36) -> str:
    """New articles per day as inline SVG bars, oldest left; each bar's <title> gives its day."""
    days = len(per_day)
    peak = max(per_day, default=0) or 1
    step = width / max(days, 1)
    bars = []
    for index, count in enumerate(per_day):
        day = utc_timestamp(now - (days - 1 - index) * DAY)[:10]
        tall = max(1.0, (height - 2) * count / peak) if count else 1.0
        empty = "" if count else ' class="empty"'
        bars.append(
            f'<rect{empty} x="{index * step + 1:.1f}" y="{height - tall:.1f}" width="{step - 2:.1f}" '
            f'height="{tall:.1f}"><title>{day}: {count}</title></rect>'
        )
    label = f"new articles per day, last {days} days: {', '.join(map(str, per_day))}"
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">{"".join(bars)}</svg>'
    )


# The figures the report adds up over the window; each counts what the run summary, `sources
# list` and the log count under the same name: new articles once, revisions once, an article
# whose translation failed once however many runs retried it, characters as sent (retries too).
TOTALS = ("new", "updated", "translated", "translation_failed", "translation_chars")


def _totals(history: Sequence[tuple[float, dict[str, Any]]], since: float) -> tuple[Counter[str], dict[str, int]]:
    languages: Counter[str] = Counter()
    figures = Counter[str]()
    for finished, summary in history:
        if finished < since:
            continue
        for source in (summary.get("sources") or {}).values():
            languages.update({k: int(v) for k, v in (source.get("languages") or {}).items()})
            for key in TOTALS:
                figures[key] += int(source.get(key, 0) or 0)
    if history:  # a gauge, not a sum: what the last run left to translate
        figures["untranslated"] = int((history[-1][1].get("totals") or {}).get("untranslated", 0) or 0)
    return languages, dict(figures)


def _trouble(row: ReportRow) -> tuple[int, int, str]:
    """Sort key: enabled sources with the most flags first, the rest by name."""
    return (0 if row.enabled and row.health.flags else 1, -len(row.health.flags), row.health.name)


def _attention(rows: Sequence[ReportRow]) -> str:
    """One line per flag and source, at the top: what needs someone now."""
    lines = [
        f'<li><span class="flag">{escape(flag)}</span> <b>{escape(row.health.name)}</b>: {escape(reason)}</li>'
        for row in sorted(rows, key=_trouble)
        if row.enabled
        for flag, reason in zip(row.health.flags, row.health.reasons, strict=True)
    ]
    if not lines:
        return '<section id="attention"><p class="ok">No enabled source needs attention.</p></section>'
    return f'<section id="attention"><h2>Needs attention</h2><ul>{"".join(lines)}</ul></section>'


def _row_html(row: ReportRow, now: float) -> str:
    health = row.health
    flags = "".join(f'<span class="flag">{escape(flag)}</span>' for flag in health.flags)
    flags = flags or '<span class="ok">ok</span>'
    why = "".join(f'<div class="why">{escape(reason)}</div>' for reason in health.reasons)
    refusals = ", ".join(f"{escape(reason)} {count}" for reason, count in health.refusals.items()) or "-"
    error = "-"
    if health.last_error:
        error = f"{escape(health.last_error)} <span class='why'>({utc_timestamp(health.last_error_at)})</span>"
    last_new = utc_timestamp(health.last_new) if health.last_new else "-"
    state = "" if row.enabled else ' class="off"'
    return (
        f'<tr data-source="{escape(health.name)}" data-flags="{escape(" ".join(health.flags))}"{state}>'
        f"<td>{escape(health.name)}{'' if row.enabled else ' (disabled)'}</td><td>{escape(row.language or '-')}</td>"
        f"<td>{bar_chart(health.per_day, now)}<div class='why'>{sum(health.per_day)} new</div></td>"
        f"<td>{last_new}<div class='why'>usual gap {duration(health.usual_gap)}</div></td>"
        f"<td>{refusals}</td><td>{flags}{why}</td><td>{error}</td></tr>"
    )


def render_report(
    rows: Sequence[ReportRow], history: Sequence[tuple[float, dict[str, Any]]], now: float, window_days: int
) -> str:
    languages, figures = _totals(history, now - window_days * DAY)
    last_run = utc_timestamp(history[-1][0]) if history else "no run recorded"
    flagged = sum(1 for row in rows if row.enabled and row.health.flags)
    per_language = ", ".join(f"{escape(lang)} {count}" for lang, count in languages.most_common()) or "-"
    totals = (
        f"<div>new articles: <b>{figures.get('new', 0)}</b>, revisions: <b>{figures.get('updated', 0)}</b>"
        f"<br>{per_language}</div>"
        f"<div>translated: <b>{figures.get('translated', 0)}</b>, "
        f"translation failed: <b>{figures.get('translation_failed', 0)}</b>, "
        f"untranslated now: <b>{figures.get('untranslated', 0)}</b></div>"
        f"<div>characters sent to the provider: <b>{figures.get('translation_chars', 0):,}</b></div>"
        f"<div>sources flagged: <b>{flagged}</b> of {sum(1 for row in rows if row.enabled)} enabled</div>"
    )
    body = "".join(_row_html(row, now) for row in sorted(rows, key=_trouble))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>sources-crawler: source health</title><style>{_STYLE}</style></head><body>"
        f"<h1>Source health</h1><p>Generated {utc_timestamp(now)}; last run {last_run}; "
        f"figures over the last {window_days} days.</p>"
        f"{_attention(rows)}"
        f'<section class="totals" id="totals">{totals}</section>'
        '<table id="sources"><thead><tr><th>source</th><th>language</th><th>new articles per day</th>'
        "<th>last new article</th><th>refusals</th><th>health</th><th>last error</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>\n"
    )
