"""What one run did for one source, read back from the run summaries kept in the state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crawler.parsing.dates import unix_time

__all__ = ["SourceRun", "runs_of"]


@dataclass(frozen=True, slots=True)
class SourceRun:
    """One run's figures for one source (see crawler/output/summary.py for where they come from)."""

    finished: float
    new: int = 0
    pages: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    discovery_failed: int = 0
    answered: frozenset[str] = frozenset()
    newest: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    translated: int = 0
    translation_failed: int = 0
    translation_chars: int = 0
    # The retry frontier after the run: pages asked again later, and pages given up in it.
    retry_pending: int = 0
    given_up: int = 0
    # crawler/output/summary.py's SourceStatus, and why when it is not ok.
    status: str = "ok"
    reason: str | None = None
    discovery_errors: dict[str, int] = field(default_factory=dict)
    translation_failed_again: int = 0
    translation_failures: dict[str, int] = field(default_factory=dict)
    # Evidence (crawler/evidence): removals reported, edits found by revisits.
    removed: int = 0
    edited_unannounced: int = 0

    @property
    def translation_tried(self) -> int:
        """Articles sent for translation in the run (retries of failed ones included)."""
        return self.translated + self.translation_failed + self.translation_failed_again

    @property
    def refused_count(self) -> int:
        return sum(self.refused.values())

    @classmethod
    def from_summary(cls, finished: float, figures: dict[str, Any]) -> SourceRun:
        discovery = figures.get("discovery") or {}
        # The summaries are our own JSON: counts are already ints, keys already strings.
        refused = figures.get("refused") or {}
        newest = {kind: unix_time(text) for kind, text in (discovery.get("newest") or {}).items()}
        return cls(
            finished=finished,
            new=int(figures.get("new", 0)),
            # Article pages requested this run (known articles a feed lists again are not).
            pages=int(figures.get("requested", 0)),
            refused=refused,
            discovery_failed=sum((discovery.get("failed") or {}).values()),
            answered=frozenset(kind for kind, count in (discovery.get("answered") or {}).items() if count),
            newest={kind: moment for kind, moment in newest.items() if moment is not None},
            errors=figures.get("errors") or {},
            languages=figures.get("languages") or {},
            translated=int(figures.get("translated", 0)),
            translation_failed=int(figures.get("translation_failed", 0)),
            translation_chars=int(figures.get("translation_chars", 0)),
            retry_pending=int(figures.get("retry_pending", 0)),
            given_up=int(figures.get("given_up", 0)),
            status=str(figures.get("status") or "ok"),
            reason=figures.get("reason"),
            discovery_errors=discovery.get("failed") or {},
            translation_failed_again=int(figures.get("translation_failed_again", 0)),
            translation_failures=figures.get("translation_failures") or {},
            removed=int(figures.get("removed", 0)),
            edited_unannounced=int((figures.get("revisits") or {}).get("edited", 0)),
        )


def runs_of(history: Iterable[tuple[float, dict[str, Any]]], name: str) -> list[SourceRun]:
    """The runs that crawled source ``name``, oldest first."""
    return [
        SourceRun.from_summary(finished, summary["sources"][name])
        for finished, summary in history
        # A backfill (its summary has "archives") read web archives, not the live site.
        if name in (summary.get("sources") or {}) and summary.get("archives") is None
    ]
