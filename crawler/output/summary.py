"""The run summary: per source, what was found, emitted, skipped and why; as JSON and a table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from crawler.output.exporters import write_text_atomically
from crawler.parsing.article import Refusal
from crawler.parsing.dates import utc_timestamp

__all__ = ["build_summary", "format_table", "summary_path", "write_summary"]

# Request failures: the site, not the page, is the problem.
_ERROR_PREFIXES = ("http_5", "http_429", "http_403", "timeout", "dns", "connection", "tcptimedout", "responsenever")
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
        "discovered": get("discovered"),
        "requested": get("articles_requested"),
        "new": get("new"),
        "updated": get("updated"),
        "retranslated": get("retranslated"),
        "unchanged": get("unchanged"),
        "emitted": get("emitted"),
        "not_emitted": dict(sorted(not_emitted.items())),
        "translated": get("translated"),
        "translation_failed": get("translation_failed"),
        "translation_deferred": get("translation_deferred"),
        "translation_deferred_chars": get("translation_deferred_chars"),
        "translation_chars": get("translation_chars"),
        "http_errors": get("http_errors"),
        # The retry frontier once the run is over (crawler/frontier/book.py): pages that failed
        # and are asked again on later runs, pages given up this run (each logged with its
        # reason), and pages owed but not yet asked for (over max_articles, a backfill's rest).
        "retry_pending": get("retry_pending"),
        "given_up": get("given_up"),
        "backlog": get("backlog"),
        # Pages fetched that gave no article, by reason (a subset of not_emitted).
        "refused": {reason: count for reason, count in not_emitted.items() if reason in _REFUSALS},
        "languages": {language: int(count) for language, count in sorted(by_prefix["language"].items())},
        "discovery": {
            "ok": get("discovery/ok"),
            "not_modified": get("discovery/not_modified"),
            "failed": discovery_failed,
            # Documents that answered (200 or 304) per kind, and the newest dated entry
            # a kind's documents listed this run: source health tells a frozen feed by it.
            "answered": {kind: int(count) for kind, count in sorted(by_prefix["answered"].items())},
            "newest": {kind: utc_timestamp(moment) for kind, moment in sorted(by_prefix["newest"].items())},
        },
        # Why requests of this source failed, discovery and articles together, most frequent first.
        "errors": dict(errors.most_common()),
    }
    produced = summary["emitted"] + summary["unchanged"]
    reached = summary["discovery"]["ok"] + summary["discovery"]["not_modified"]
    # Pages asked again from the retry frontier that fail again are counted there
    # (retry_pending, given_up); a source fails when its own new requests all failed.
    fresh = summary["requested"] - get("retried")
    if (not reached and discovery_failed) or (
        not produced and fresh > 0 and request_errors - get("retry_failed") >= fresh
    ):
        summary["status"] = "failed"
    elif produced or reached:
        summary["status"] = "ok"
    else:
        summary["status"] = "idle"
    return summary


# The per-source counts a run summary adds up in its "totals" (and "not_emitted", summed over reasons).
TOTAL_FIELDS = (
    "discovered", "new", "updated", "retranslated", "unchanged", "emitted", "translated", "translation_failed",
    "translation_deferred", "translation_chars", "http_errors", "retry_pending", "given_up", "backlog",
)  # fmt: skip


def run_totals(per_source: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The run's totals over its sources' summaries (a field a summary lacks counts 0)."""
    totals: dict[str, int] = {}
    for summary in per_source.values():
        for key in TOTAL_FIELDS:
            totals[key] = totals.get(key, 0) + int(summary.get(key, 0) or 0)
        totals["not_emitted"] = totals.get("not_emitted", 0) + sum(summary.get("not_emitted", {}).values())
    return totals


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
) -> dict[str, Any]:
    per_source = {name: _source_summary(name, stats) for name, stats in sorted(sources.items())}
    totals = run_totals(per_source)
    return {
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
        "failed_sources": [name for name, summary in per_source.items() if summary["status"] == "failed"],
        "sources": per_source,
    }


def format_table(summary: dict[str, Any]) -> str:
    header = [
        "source",
        "discovered",
        "new",
        "updated",
        "unchanged",
        "not emitted",
        "translated",
        "tr. failed",
        "tr. chars",
        "deferred",
        "HTTP errors",
        "retrying",
        "given up",
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
                not_emitted,
                s["translated"],
                s["translation_failed"],
                s.get("translation_chars", 0),
                s.get("translation_deferred", 0),
                s["http_errors"],
                s.get("retry_pending", 0),
                s.get("given_up", 0),
                s["status"],
                ", ".join(s.get("health", {}).get("flags", [])) or "-",
                ", ".join(f"{reason} {count}" for reason, count in s["errors"].items()) or "-",
            ]
        )
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def summary_path(output: Path) -> Path:
    return output.with_name(output.name + ".summary.json")


def write_summary(output: Path, summary: dict[str, Any]) -> Path:
    target = summary_path(output)
    write_text_atomically(target, json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return target
