"""The run summary: per source, what was found, emitted, skipped and why; as JSON and a table."""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Any

from crawler.archives.selection import OUTSIDE_WINDOW
from crawler.output.exporters import write_text_atomically
from crawler.output.names import summary_path
from crawler.parsing.dates import utc_timestamp
from crawler.parsing.records import Refusal
from crawler.stats import Count
from crawler.text_table import format_table as columns
from crawler.translation.base import failure_words

__all__ = ["DEGRADED", "SourceStatus", "build_summary", "format_table", "summary_path", "write_summary"]

# Request failures: the site, not the page, is the problem.
# Why an article request failed (not refused): the network, the site, the browser, a proxy's credentials.
_ERROR_PREFIXES = (
    "http_5", "http_429", "http_403", "timeout", "dns", "connection", "tcptimedout", "responsenever", "render_",
    "proxy_credentials",
)  # fmt: skip
_LINK_REASONS = ("over_max_articles", "offsite", "too_long")
_REFUSALS = frozenset(Refusal)


def _source_summary(name: str, stats: dict[str, Any]) -> dict[str, Any]:
    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    not_emitted = {key.split("/", 1)[1]: int(value) for key, value in stats.items() if key.startswith("not_emitted/")}
    not_emitted.pop("unchanged", None)
    for reason in _LINK_REASONS:
        if get(f"links/{reason}"):
            not_emitted[reason] = get(f"links/{reason}")
    discovery_failed = {key.split("/", 2)[2]: int(v) for key, v in stats.items() if key.startswith("discovery/failed/")}
    request_failures = {reason: count for reason, count in not_emitted.items() if reason.startswith(_ERROR_PREFIXES)}
    request_errors = sum(request_failures.values())
    by_prefix = {
        prefix: {key.split("/", 1)[1]: value for key, value in stats.items() if key.startswith(f"{prefix}/")}
        for prefix in ("answered", "newest", "language")
    }
    errors = Counter(discovery_failed) + Counter(request_failures)
    summary = {
        "discovered": get(Count.DISCOVERED),
        "requested": get(Count.ARTICLES_REQUESTED),
        "new": get(Count.NEW),
        "updated": get(Count.UPDATED),
        "retranslated": get(Count.RETRANSLATED),
        "unchanged": get(Count.UNCHANGED),
        "emitted": get(Count.EMITTED),
        "not_emitted": dict(sorted(not_emitted.items())),
        "translated": get(Count.TRANSLATED),
        "translation_failed": get(Count.TRANSLATION_FAILED),
        "translation_deferred": get(Count.TRANSLATION_DEFERRED),
        "translation_deferred_chars": get(Count.TRANSLATION_DEFERRED_CHARS),
        "translation_chars": get(Count.TRANSLATION_CHARS),
        "http_errors": get(Count.HTTP_ERRORS),
        # Checks of delivered articles (crawler/evidence): asked, answered 304, edits the site did
        # not announce, pages found gone for the first time, checks that could not tell; removals
        # confirmed and reported, and pages back after their removal.
        "revisits": {
            "asked": get(Count.REVISITS),
            "not_modified": get(Count.REVISITS_NOT_MODIFIED),
            "edited": get(Count.REVISITS_EDITED),
            "gone_suspected": get(Count.REVISITS_GONE_SUSPECTED),
            "inconclusive": get(Count.REVISITS_INCONCLUSIVE),
            "probes": get(Count.REVISITS_PROBES),
        },
        "removed": get(Count.REMOVED),
        "restored": get(Count.RESTORED),
        # Pages read in the browser (render: true or auto): rendered, failed, seconds spent,
        # plain pages that needed it (auto), connections of theirs the guard refused, rendered
        # pages still behind a wall; and pages that looked as if they needed it (render off).
        "render": {
            "pages": get(Count.RENDERED),
            "failed": get(Count.RENDER_FAILED),
            "seconds": round(get(Count.RENDER_MS) / 1000, 1),
            "auto": get(Count.RENDER_AUTO),
            "refused": get(Count.RENDER_REFUSED),
            "still_blocked": get(Count.RENDER_STILL_BLOCKED),
            "needed": get(Count.RENDER_NEEDED),
        },
        # The retry frontier once the run is over (crawler/frontier/book.py): pages that failed
        # and are asked again on later runs, pages given up this run (each logged with its
        # reason), and pages owed but not yet asked for (over max_articles, a backfill's rest).
        "retry_pending": get(Count.RETRY_PENDING),
        "given_up": get(Count.GIVEN_UP),
        "backlog": get(Count.BACKLOG),
        # Pages fetched that gave no article, by reason (a subset of not_emitted).
        "refused": {reason: count for reason, count in not_emitted.items() if reason in _REFUSALS},
        "languages": {language: int(count) for language, count in sorted(by_prefix["language"].items())},
        "discovery": {
            "ok": get(Count.DISCOVERY_OK),
            "not_modified": get(Count.DISCOVERY_NOT_MODIFIED),
            "failed": discovery_failed,
            # Documents that answered (200 or 304) per kind, and the newest dated entry
            # a kind's documents listed this run: source health tells a frozen feed by it.
            "answered": {kind: int(count) for kind, count in sorted(by_prefix["answered"].items())},
            "newest": {kind: utc_timestamp(moment) for kind, moment in sorted(by_prefix["newest"].items())},
        },
        # Why requests of this source failed, discovery and articles together, most frequent first.
        "errors": dict(errors.most_common()),
    }
    summary["translation_failures"] = {
        key.split("/", 1)[1]: int(value) for key, value in stats.items() if key.startswith("translation_failures/")
    }
    summary["translation_failed_again"] = get(Count.TRANSLATION_FAILED_AGAIN)
    status, reason = _status(summary, get(Count.RETRIED), request_errors - get(Count.RETRY_FAILED))
    summary["status"], summary["reason"] = str(status), reason
    return summary


class SourceStatus(StrEnum):
    OK = "ok"
    IDLE = "idle"  # nothing was asked for (every document waits for its revisit)
    FAILED = "failed"  # every discovery document, or every new article request, failed: exit 1
    UNTRANSLATED = "untranslated"  # every translation failed: the articles went out untranslated, exit 3
    REFUSED = "refused"  # every article fetched was refused: nothing went out, exit 3


# Statuses that make a finished run exit with EXIT_DEGRADED (3), FAILED with 1.
DEGRADED = frozenset({SourceStatus.UNTRANSLATED, SourceStatus.REFUSED})
# What to do about a refusal, for the reason line of a source whose articles were all refused.
_REFUSAL_HINTS = {
    "private_address": "NETWORK_ALLOW_HOSTS (or NETWORK_ALLOW_PRIVATE) lets the crawler reach such addresses",
    "robots_txt": "the site's robots.txt disallows them",
    "blocked": "a bot wall answered; the pages are asked again on later runs (scrapy sources check NAME says "
    "whether render: auto or a proxy may help)",
    "no_article": "check the listing's follow regex, or add extract: XPaths (pages built by scripts need render: auto)",
    "not_html": "the links lead to files, not pages: check follow",
    "offsite": "they redirect outside allowed_domains",
}


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items(), key=lambda kv: -kv[1]))


def _status(summary: dict[str, Any], retried: int, fresh_errors: int) -> tuple[SourceStatus, str | None]:
    """The source's status and, when it is not ok, why, in a sentence for people. Pages asked
    again from the retry frontier that fail again are counted there (retry_pending)."""
    produced = summary["emitted"] + summary["unchanged"]
    reached = summary["discovery"]["ok"] + summary["discovery"]["not_modified"]
    # Archived pages outside a backfill's window were read to learn their date, not refused.
    fresh = summary["requested"] - retried - summary["not_emitted"].get(OUTSIDE_WINDOW, 0)
    if not reached and summary["discovery"]["failed"]:
        return (
            SourceStatus.FAILED,
            f"every feed, sitemap and listing failed ({_listed(summary['discovery']['failed'])})",
        )
    if not produced and fresh > 0 and fresh_errors >= fresh:
        return SourceStatus.FAILED, f"every article request failed ({_listed(summary['errors'])})"
    tried = summary["translated"] + summary["translation_failed"] + summary["translation_failed_again"]
    if tried and not summary["translated"]:
        kinds = summary["translation_failures"]
        why = "; ".join(
            f"{failure_words(kind)} ({count})" for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1])
        )
        return SourceStatus.UNTRANSLATED, (
            f"every translation failed: {why}; the articles went out untranslated and are translated again "
            "on the next run"
        )
    offsite = summary["not_emitted"].get("offsite", 0)
    if offsite and not produced and not summary["discovered"] and fresh <= 0:
        # A feed on feedburner, or articles on another domain than the feed's: nothing is asked.
        return SourceStatus.REFUSED, (
            f"all {offsite} links its feeds, sitemaps and listings gave lead outside allowed_domains: "
            "add their hosts to the source's allowed_domains (scrapy sources check NAME names them)"
        )
    if fresh > 0 and not produced:
        refused = {reason: n for reason, n in summary["not_emitted"].items() if reason not in _LINK_REASONS}
        hints = "; ".join(_REFUSAL_HINTS[reason] for reason in refused if reason in _REFUSAL_HINTS)
        return SourceStatus.REFUSED, f"all {fresh} articles fetched were refused ({_listed(refused)})" + (
            f": {hints}" if hints else ""
        )
    return (SourceStatus.OK if produced or reached else SourceStatus.IDLE), None


# The per-source counts a run summary adds up in its "totals" (and "not_emitted", summed over reasons).
TOTAL_FIELDS = (
    "discovered", "new", "updated", "retranslated", "unchanged", "emitted", "translated", "translation_failed",
    "translation_deferred", "translation_chars", "http_errors", "retry_pending", "given_up", "backlog", "untranslated",
    "removed", "restored",
)  # fmt: skip


def run_totals(per_source: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The run's totals over its sources' summaries (a field a summary lacks counts 0)."""
    totals: dict[str, int] = {}
    for summary in per_source.values():
        for key in TOTAL_FIELDS:
            totals[key] = totals.get(key, 0) + int(summary.get(key, 0) or 0)
        totals["not_emitted"] = totals.get("not_emitted", 0) + sum(summary.get("not_emitted", {}).values())
    return totals


_ARCHIVE = "archive/"
_FILE_FIGURES = ("listed", "read", "done_before", "missing", "failed", "broken")


def analyst_figures(stats: dict[str, Any]) -> dict[str, Any] | None:
    """The watchlists' side of a run (crawler/output/watchlists.py, alert_sender.py,
    atom_feeds.py), or None without watchlists or feeds: matches per watchlist, the alerts sent,
    failed, given up and still waiting, and the feeds written and failed."""
    watchlists: dict[str, int] = {}
    for key, value in stats.items():
        parts = key.split("/")
        if len(parts) == 4 and parts[0] == "sources" and parts[2] == "watchlist":
            watchlists[parts[3]] = watchlists.get(parts[3], 0) + int(value)
    alerts = {name: int(stats.get(f"alerts/{name}", 0) or 0) for name in ("sent", "failed", "given_up", "waiting")}
    feeds = {name: int(stats.get(f"feeds/{name}", 0) or 0) for name in ("written", "failed")}
    if not watchlists and not any(alerts.values()) and not any(feeds.values()):
        return None
    return {"matches": dict(sorted(watchlists.items())), "alerts": alerts, "feeds": feeds}


def archive_figures(stats: dict[str, Any]) -> dict[str, Any] | None:
    """A backfill's reading of web archives (crawler/spiders/archive_backfill.py), or None for a
    crawl of live sites: its files (listed, read whole, read before for this window, missing,
    failed half-way, broken), the records read, the pages of the sources among them, the
    captures of a URL read already, and the records skipped by why."""
    figures = {key[len(_ARCHIVE) :]: value for key, value in stats.items() if key.startswith(_ARCHIVE)}
    if not figures:
        return None

    def get(key: str) -> int:
        return int(figures.get(key, 0) or 0)

    seconds = float(figures.get("read_seconds", 0) or 0)
    return {
        "files": {name: get(f"files/{name}") for name in _FILE_FIGURES},
        "records": get("records"),
        "pages": get("pages"),
        "duplicate_captures": get("duplicate_captures"),
        "skipped": {key.split("/", 1)[1]: int(v) for key, v in sorted(figures.items()) if key.startswith("skipped/")},
        "read_seconds": round(seconds, 1),
    }


def build_summary(
    sources: dict[str, dict[str, Any]],
    *,
    run_id: str,
    started: float,
    finished: float,
    outputs: list[str],
    committed: bool,
    finish_reason: str | None,
    full: bool,
    failed_outputs: dict[str, str] | None = None,
    archives: dict[str, Any] | None = None,
) -> dict[str, Any]:
    per_source = {name: _source_summary(name, stats) for name, stats in sorted(sources.items())}
    totals = run_totals(per_source)
    summary = {
        "run_id": run_id,
        "started": utc_timestamp(started),
        "finished": utc_timestamp(finished),
        "seconds": round(finished - started, 1),
        "finish_reason": finish_reason,
        "full": full,
        "outputs": outputs,
        "state_committed": committed,
        "failed_outputs": dict(failed_outputs or {}),
        "totals": totals,
        "failed_sources": [name for name, summary in per_source.items() if summary["status"] == SourceStatus.FAILED],
        "degraded_sources": [name for name, summary in per_source.items() if summary["status"] in DEGRADED],
        "sources": per_source,
    }
    if archives is not None:
        # A backfill (scrapy sources backfill): its summary says what it read; health leaves it out.
        summary["archives"] = archives
    return summary


def _revisits(figures: dict[str, int]) -> str:
    """``12 (9 unchanged, 1 edited, 1 gone?)``: the checks of delivered articles and what they found."""
    asked = figures.get("asked", 0)
    found = [(figures.get("not_modified", 0), "304"), (figures.get("edited", 0), "edited"),
             (figures.get("gone_suspected", 0), "gone?"), (figures.get("inconclusive", 0), "no answer")]  # fmt: skip
    parts = ", ".join(f"{count} {what}" for count, what in found if count)
    return f"{asked} ({parts})" if parts else str(asked)


def format_table(summary: dict[str, Any]) -> str:
    header = [
        "source",
        "discovered",
        "new",
        "updated",
        "unchanged",
        "emitted",
        "not emitted",
        "translated",
        "tr. failed",
        "tr. chars",
        "deferred",
        "HTTP errors",
        "retrying",
        "given up",
        "revisits",
        "removed",
        "status",
        "health",
        "errors",
    ]
    rows = [header]
    for name, s in summary["sources"].items():
        reasons = ", ".join(f"{reason} {count}" for reason, count in s["not_emitted"].items())
        not_emitted = str(sum(s["not_emitted"].values())) + (f" ({reasons})" if reasons else "")
        updated = str(s["updated"]) + (f" (+{s['retranslated']} retranslated)" if s["retranslated"] else "")
        rows.append(
            [
                name,
                s["discovered"],
                s["new"],
                updated,
                s["unchanged"],
                s["emitted"],
                not_emitted,
                s["translated"],
                s["translation_failed"],
                s.get("translation_chars", 0),
                s.get("translation_deferred", 0),
                s["http_errors"],
                s.get("retry_pending", 0),
                s.get("given_up", 0),
                _revisits(s.get("revisits") or {}),
                s.get("removed", 0),
                s["status"],
                ", ".join(s.get("health", {}).get("flags", [])) or "-",
                ", ".join(f"{reason} {count}" for reason, count in s["errors"].items()) or "-",
            ]
        )
    lines = columns(rows, rule=True)
    reasons = [f"  {name}: {s['reason']}" for name, s in summary["sources"].items() if s.get("reason")]
    archives = [_archive_line(summary["archives"])] if summary.get("archives") else []
    analyst = [_analyst_line(summary["watchlists"])] if summary.get("watchlists") else []
    browser = [line] if (line := _browser_line(summary["sources"])) else []
    return "\n".join(lines + (["", *reasons] if reasons else []) + archives + analyst + browser)


def _browser_line(sources: dict[str, Any]) -> str | None:
    """``Browser: tass 12 pages in 14.2 s (3 auto, 1 failed, 2 still blocked, 5 refused connections)``,
    and the sources whose pages looked as if they need ``render``."""
    parts, hints = [], []
    for name, s in sources.items():
        render = s.get("render") or {}
        if render.get("pages") or render.get("failed"):
            extra = [f"{render[key]} {label}" for key, label in _RENDER_LABELS if render.get(key)]
            parts.append(
                f"{name} {render['pages']} pages in {render['seconds']} s" + (f" ({', '.join(extra)})" if extra else "")
            )
        if render.get("needed"):
            hints.append(f"{name} ({render['needed']})")
    if not parts and not hints:
        return None
    line = "Browser: " + ("; ".join(parts) or "no pages rendered")
    return line + (f"; pages that look built by scripts, without render: {', '.join(hints)}" if hints else "")


_RENDER_LABELS = (
    ("auto", "auto"), ("failed", "failed"), ("still_blocked", "still blocked"), ("refused", "refused connections"),
)  # fmt: skip


def _analyst_line(figures: dict[str, Any]) -> str:
    """``Watchlists: zaes 3, kherson 1; alerts 2 sent, 1 failed, 4 waiting; feeds 5 written``."""
    matches = ", ".join(f"{name} {count}" for name, count in figures["matches"].items()) or "no matches"
    alerts = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in figures["alerts"].items() if count)
    feeds = ", ".join(f"{count} {name}" for name, count in figures["feeds"].items() if count)
    return f"Watchlists: {matches}" + (f"; alerts {alerts}" if alerts else "") + (f"; feeds {feeds}" if feeds else "")


def _archive_line(figures: dict[str, Any]) -> str:
    """``Backfill: 12 WARC files read (3 before), 2 missing; 61,000 records, 1,200 pages of the sources``."""
    files = figures["files"]
    trouble = [f"{files[key]} {key}" for key in ("missing", "failed", "broken") if files.get(key)]
    skipped = ", ".join(f"{reason} {count:,}" for reason, count in figures["skipped"].items())
    return (
        f"Backfill: {files['read']} WARC files read"
        + (f" ({files['done_before']} read before)" if files["done_before"] else "")
        + (f", {', '.join(trouble)}" if trouble else "")
        + f"; {figures['records']:,} records, {figures['pages']:,} pages of the sources"
        + (f"; skipped: {skipped}" if skipped else "")
    )


def write_summary(output: Path, summary: dict[str, Any]) -> Path:
    target = summary_path(output)
    write_text_atomically(target, json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return target
