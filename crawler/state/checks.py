"""A run's checks of delivered articles: which are due, what each found, and what the state
keeps of every delivered article as evidence (crawler/evidence).

The due checks are read once as the run starts (one query, at most ``REVISIT_MAX_PER_RUN`` per
source, longest overdue first). What the checks find, and the evidence row of every article
the run delivers (its URL and validators, its next check, its record), go out with the run's
delivery (crawler/state/delivery.py): a killed run's checks are simply due again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import settings as defaults
from crawler.evidence.changes import FoundBy
from crawler.evidence.schedule import RETRY_AFTER, RevisitSchedule
from crawler.items import ArticleItem
from crawler.parsing.dates import unix_time
from crawler.state.rows import DueCheck, encode_record
from crawler.state.store import StateError, StateStore

__all__ = ["ArticleChecks", "Validators"]

logger = logging.getLogger(__name__)

# (ETag, Last-Modified) of the last answer, for a conditional GET next time.
Validators = tuple[str | None, str | None]


class ArticleChecks:
    def __init__(self, store: StateStore, settings: Any, now: float):
        self.store, self.now = store, now
        self.schedule = RevisitSchedule.from_settings(settings)
        self.budget = int(settings.getint("REVISIT_MAX_PER_RUN", defaults.REVISIT_MAX_PER_RUN))
        self._ages: dict[str, tuple[float, ...] | None] = {}
        self._due: dict[str, list[DueCheck]] | None = None
        # Per article id: validators of this run's answer, how a change
        # was found, and what the run records (evidence rows of deliveries; check rows).
        self.validators: dict[str, Validators] = {}
        self.found_by: dict[str, FoundBy] = {}
        self.urls: dict[str, str] = {}
        self.removals: dict[str, tuple[dict[str, Any] | None, float | None]] = {}
        self._records: dict[str, dict[str, Any] | None] = {}
        self._evidence: dict[str, dict[str, Any]] = {}
        self._checks: dict[str, dict[str, Any]] = {}

    # --- the schedule -----------------------------------------------------------------

    def configure(self, ages: dict[str, tuple[float, ...] | None]) -> None:
        """Each source's ``revisit:`` ages (None: REVISIT_AFTER)."""
        self._ages = dict(ages)

    def schedule_of(self, source: str) -> RevisitSchedule:
        return self.schedule.with_ages(self._ages.get(source))

    def due(self, source: str) -> list[DueCheck]:
        """The source's checks due now, longest overdue first (its revisits turned off: none,
        and none is due again)."""
        if self._due is None:
            self._due = {}
            try:
                rows = self.store.due_checks(self.now, self.budget) if self.budget > 0 else []
            except StateError as exc:
                logger.warning("State: the articles to check again cannot be read (%s); none is checked", exc)
                rows = []
            for row in rows:
                self._due.setdefault(row.source, []).append(row)
        rows = self._due.get(source, [])
        if not self.schedule_of(source).ages:
            for row in rows:
                if row.removed is None and row.gone is None:
                    self.checked(row, next_check=None)
            return [row for row in rows if row.removed is not None or row.gone is not None]
        return rows

    # --- what the checks find ---------------------------------------------------------

    def checked(
        self, row: DueCheck, next_check: float | None, validators: Validators = (None, None),
        gone: dict[str, Any] | None = None, removed: float | None = None,
    ) -> None:  # fmt: skip
        """A check that delivers nothing (or not yet: a delivery replaces it)."""
        self._checks[row.id] = {
            "id": row.id, "etag": validators[0], "last_modified": validators[1], "next_check": next_check,
            "gone": gone, "removed": removed,
        }  # fmt: skip

    def inconclusive(self, row: DueCheck) -> None:
        """A check that could not tell (5xx, a timeout, robots.txt, no article and no sign of a
        missing page): asked again in an hour, its age not used up, a suspicion kept."""
        self.checked(row, self.now + RETRY_AFTER, gone=row.gone, removed=row.removed)

    def next_after_present(self, row: DueCheck) -> float | None:
        return self.schedule_of(row.source).next_check(row.first_seen, self.now)

    def next_after_removal(self, row: DueCheck, removed: float) -> float | None:
        return self.schedule_of(row.source).after_removal(row.first_seen, removed, self.now)

    def note_answer(self, article_id: str, url: str, validators: Validators, found_by: FoundBy | None) -> None:
        """An article page answered: its validators and URL for the next check; ``found_by``
        says a revisit brought it (a change found is then unannounced)."""
        self.validators[article_id] = validators
        self.urls[article_id] = url
        if found_by is not None:
            self.found_by[article_id] = found_by

    def note_removal(self, article_id: str, gone: dict[str, Any] | None, removed: float | None) -> None:
        """The record about to be delivered is a removal (or a return, with both None)."""
        self.removals[article_id] = (gone, removed)

    # --- the last delivered records ------------------------------------------------------

    async def previous(self, article_id: str) -> dict[str, Any] | None:
        """The record delivered last for ``article_id`` (None if the state no longer keeps it)."""
        if article_id not in self._records:
            try:
                if self.store.threadsafe:
                    found = await deferred_to_future(deferToThread(self.store.evidence_records, [article_id]))
                else:
                    found = self.store.evidence_records([article_id])
            except StateError as exc:
                logger.warning("State: the last record of %s cannot be read (%s)", article_id, exc)
                found = {}
            self._records[article_id] = found.get(article_id)
        return self._records[article_id]

    def delivered(self, item: ArticleItem, first_seen: float | None) -> None:
        """``item`` goes out: its evidence row replaces any check recorded for it this run."""
        self._checks.pop(item.id, None)
        first = first_seen if first_seen is not None else self.now
        if first_seen is None and self.found_by.get(item.id) == FoundBy.ARCHIVE:
            # First known from a web archive (a backfill): its ages count from its capture, so an
            # old article is not checked and one captured yesterday is, at the ages it has left.
            first = min(first, unix_time(item.fetched_at) or first)
        gone, removed = self.removals.get(item.id, (None, None))
        schedule = self.schedule_of(item.source)
        if removed is not None:
            next_check = schedule.after_removal(first, removed, self.now)
        else:
            next_check = schedule.next_check(first, self.now)
        etag, last_modified = self.validators.get(item.id, (None, None))
        self._evidence[item.id] = {
            "id": item.id, "source": item.source, "url": self.urls.get(item.id, item.url), "etag": etag,
            "last_modified": last_modified, "next_check": next_check, "gone": gone, "removed": removed,
            # Packed now, not at the end: a run of a thousand articles holds 3 MB of them, not 15.
            "record": encode_record(json.dumps(asdict(item), ensure_ascii=False)),
        }  # fmt: skip

    def payload(self) -> dict[str, Any]:
        return {"evidence": list(self._evidence.values()), "checks": list(self._checks.values())}
