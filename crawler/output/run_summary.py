"""The end of a run: its summary (logged, beside each output, and kept in the state), each
source's health, and pruning of what is too old to matter. An extension of its own, after
RunState, which it reaches with ``RunState.of``; it closes the state when done."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler import settings as defaults
from crawler.health.assess import HealthRules, assess_all
from crawler.output.summary import analyst_figures, archive_figures, build_summary, format_table, write_summary
from crawler.state.delivery import os_error_text
from crawler.state.runstate import RunState
from crawler.state.store import StateError
from crawler.stats import per_source

__all__ = ["RunSummary"]

logger = logging.getLogger(__name__)


class RunSummary:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.retention_days = crawler.settings.getfloat("STATE_RETENTION_DAYS", defaults.STATE_RETENTION_DAYS)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunSummary:
        extension = cls(crawler)
        crawler.signals.connect(extension._on_engine_stopped, signal=signals.engine_stopped)
        return extension

    def _on_engine_stopped(self) -> None:
        state = RunState.of(self.crawler)
        try:
            stats = self.crawler.stats.get_stats()
            summary = build_summary(
                per_source(stats),
                run_id=state.run_id,
                started=state.started,
                finished=time.time(),
                outputs=[str(p) for p in state.delivery.published],
                committed=state.delivery.committed,
                finish_reason=self.crawler.stats.get_value("finish_reason"),
                full=state.full,
                failed_outputs=state.delivery.failed_outputs,
                archives=archive_figures(stats),
            )
            if (analyst := analyst_figures(stats)) is not None:
                summary["watchlists"] = analyst
            self._add_untranslated(state, summary)
            self._add_health(state, summary)
            for source in summary["failed_sources"]:
                self.crawler.stats.inc_value("summary/failed_sources")
                reason = summary["sources"][source]["reason"]
                logger.error("Source %s produced nothing because of errors: %s", source, reason)
            for source in summary["degraded_sources"]:
                self.crawler.stats.inc_value("summary/degraded_sources")
                logger.warning("Source %s: %s", source, summary["sources"][source]["reason"])
            logger.info("Run summary:\n%s", format_table(summary))
            for path in state.delivery.published:
                try:
                    write_summary(path, summary)
                except OSError as exc:
                    self.crawler.stats.inc_value("output/failed")
                    logger.error("Run summary %s.summary.json cannot be written (%s)", path, os_error_text(exc))
            self._finish(state, summary)
        finally:
            state.close()

    def _add_untranslated(self, state: RunState, summary: dict[str, Any]) -> None:
        """Per source, the articles delivered untranslated that a later run translates (a gauge:
        the same article over three runs of a provider outage is one)."""
        try:
            pending = state.run_records().untranslated()
        except StateError as exc:
            logger.warning("Untranslated articles not counted: the state cannot be read (%s)", exc)
            return
        for name, figures in summary["sources"].items():
            figures["untranslated"] = pending.get(name, 0)
        summary["totals"]["untranslated"] = sum(figures["untranslated"] for figures in summary["sources"].values())

    def _add_health(self, state: RunState, summary: dict[str, Any]) -> None:
        """Each source's health, this run included, into the summary; a WARNING per flagged one."""
        if summary.get("archives") is not None:
            return  # a backfill says nothing of how the live sites are doing
        rules = HealthRules.from_settings(self.crawler.settings)
        finished = time.time()
        try:
            history = state.run_records().run_history(finished - rules.history_days * 86400)
        except StateError as exc:
            logger.warning("Source health not assessed: the run history cannot be read (%s)", exc)
            return
        history.append((finished, summary))
        flagged = []
        for name, health in assess_all(history, list(summary["sources"]), finished, rules).items():
            summary["sources"][name]["health"] = health.as_dict()
            if health.flags:
                flagged.append(name)
                flags = ", ".join(health.flags)
                logger.warning("Source %s is %s: %s", name, flags, "; ".join(health.reasons))
        summary["flagged_sources"] = flagged

    def _finish(self, state: RunState, summary: dict[str, Any]) -> None:
        """Keep the run's summary and forget what is too old to matter."""
        try:
            if state.sharded:
                # The run's finishing job merges the shards' summaries into the run's, and prunes.
                summary["shard"] = state.shard
                summary["host"] = socket.gethostname()
                state.record_shard(summary)
                return
            records = state.run_records()
            records.finish_run(state.run_id, int(time.time()), json.dumps(summary, ensure_ascii=False))
            if self.retention_days > 0:
                pruned = records.prune(state.now - int(self.retention_days * 86400))
                if any(pruned.values()):
                    logger.info("State: pruned entries not seen for %g days: %s", self.retention_days, pruned)
        except StateError as exc:
            state.delivery.state_failed(exc)
