"""``health [--json]`` and ``report --output FILE.html``: each source's health, learned from
past runs, as a table, JSON, or a self-contained HTML page with a chart per source."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError

from crawler.commands.sources.action import About, ActionParser, Context, write_output
from crawler.config.sources_file import SourcesConfig
from crawler.exit_codes import EXIT_OK, EXIT_SOURCE_FAILED
from crawler.health.assess import DAY, HealthRules, SourceHealth, assess_all
from crawler.health.report import ReportRow, render_report
from crawler.health.text import format_health, health_json
from crawler.parsing.dates import utc_timestamp
from crawler.state.opener import stored_history

__all__ = ["Health", "Report", "source_healths"]

History = list[tuple[float, dict[str, Any]]]


def source_healths(settings: Any, config: SourcesConfig) -> tuple[list[SourceHealth], History]:
    """Every configured source's health, and the run history it was learned from."""
    rules = HealthRules.from_settings(settings)
    now = time.time()
    history = stored_history(settings, now - rules.history_days * DAY)
    healths = assess_all(history, [source.name for source in config.sources], now, rules)
    return list(healths.values()), history


class Health:
    about = About.line("health [--json]", "each source's health from past runs; exit 1 when one is flagged")

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--json", action="store_true", help="JSON instead of a table")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        config = context.config()
        healths, history = source_healths(context.settings, config)
        enabled = [source.name for source in config.enabled]
        if args.json:
            print(json.dumps(health_json(healths, enabled), ensure_ascii=False, indent=2))
        else:
            when = f"last run {utc_timestamp(history[-1][0])}" if history else "no run recorded yet"
            print(f"{config.path}: {len(history)} runs in the history; {when}\n")
            print(format_health(healths, enabled))
        flagged = [health.name for health in healths if health.flags and health.name in enabled]
        return EXIT_SOURCE_FAILED if flagged else EXIT_OK


class Report:
    about = About.line("report --output FILE.html", "the same as one self-contained HTML page")

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--output", metavar="FILE", help="where to write the page")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        if not args.output:
            raise UsageError("say where: scrapy sources report --output FILE.html")
        config = context.config()
        healths, history = source_healths(context.settings, config)
        by_name = {source.name: source for source in config.sources}
        rows = [ReportRow(health, by_name[health.name].language, by_name[health.name].enabled) for health in healths]
        window = HealthRules.from_settings(context.settings).window_days
        page = render_report(rows, history, time.time(), window)
        target = Path(args.output)
        if (failed := write_output(target, page)) is not None:
            return failed
        flagged = sum(1 for row in rows if row.enabled and row.health.flags)
        print(f"{target}: {len(rows)} sources, {flagged} flagged, {len(history)} runs")
        return EXIT_OK
