"""``list``: the configured sources and, once runs have happened, their last figures and health."""

from __future__ import annotations

import argparse

from crawler.commands.sources.action import About, ActionParser, Context
from crawler.commands.sources.health import source_healths
from crawler.config.sources_file import Source
from crawler.exit_codes import EXIT_OK
from crawler.health.assess import SourceHealth
from crawler.state.opener import last_run_summary
from crawler.text_table import format_table

__all__ = ["ListSources"]

HEADER = ["NAME", "LANG", "ENABLED", "NEW", "UPDATED", "UNCHANGED", "EMITTED", "NOT EMITTED", "RETRYING"]
HEADER += ["GIVEN UP", "STATUS", "HEALTH", "DISCOVERY"]
_FIGURES = 8  # NEW to STATUS


class ListSources:
    about = About.line("list", "the configured sources, the last run's figures and their health")

    def add_arguments(self, parser: ActionParser) -> None:
        pass

    def run(self, context: Context, args: argparse.Namespace) -> int:
        config = context.config()
        last = last_run_summary(context.settings)
        figures = (last or {}).get("sources", {})
        when = f"last run {last['finished']}" if last else "no run recorded yet"
        if last and last.get("shards"):
            failed = last["shards"].get("failed") or []
            when += f" over {last['shards']['count']} shards" + (f", failed shards {failed}" if failed else "")
        print(f"{config.path}: {len(config.sources)} sources, {len(config.enabled)} enabled; {when}\n")
        health = {entry.name: entry for entry in source_healths(context.settings, config)[0]}
        rows = [HEADER]
        for source in config.sources:
            rows += _rows(source, figures.get(source.name), health[source.name])
        print("\n".join(format_table(rows)))
        return EXIT_OK


def _rows(source: Source, stats: dict | None, health: SourceHealth) -> list[list[str]]:
    """The source's row, then one more for each discovery document after its first."""
    cells = [source.name, source.language or "-", "yes" if source.enabled else "no"]
    if stats:
        cells += [
            str(stats["new"]),
            str(stats["updated"]),
            str(stats["unchanged"]),
            str(stats.get("emitted", 0)),
            str(sum(stats["not_emitted"].values())),
            str(stats.get("retry_pending", 0)),
            str(stats.get("given_up", 0)),
            stats["status"],
        ]
    else:
        cells += ["-"] * _FIGURES
    cells.append(", ".join(health.flags) or ("ok" if health.runs else "-"))
    roots = [f"{kind:8} {url}" for kind, url in source.roots]
    return [[*cells, roots[0]], *([*([""] * len(cells)), root] for root in roots[1:])]
