"""What every ``scrapy sources`` action shares: its own options, and the run it is given.

Scrapy parses a command line once, with one parser per command; the actions of ``sources``
each have options of their own. Scrapy's own options (``-s``, ``-L``, ...) are parsed by
Scrapy wherever they stand, and everything else is left to the action named, whose parser
refuses what it does not know: ``scrapy sources list --burst`` is a usage error."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from scrapy.exceptions import UsageError

from crawler.config.sources_file import SourcesConfig, SourcesError, load_sources

__all__ = ["Action", "ActionParser", "Context"]


class ActionParser(argparse.ArgumentParser):
    """An action's options; a mistake is Scrapy's usage error (exit 2, with the usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True)
class Context:
    """What an action runs with: the project's settings, Scrapy's process for the actions that
    crawl, and the command line's ``-s NAME=VALUE`` pairs, in order (for the crawls that
    enqueue and worker start elsewhere)."""

    settings: Any
    process: Any
    set_options: tuple[tuple[str, str], ...]

    def config(self, quiet: bool = False) -> SourcesConfig | None:
        """The sources file, or None once its problems are printed (exit 78 is the caller's)."""
        try:
            return load_sources(self.settings.get("SOURCES_FILE"))
        except SourcesError as exc:
            if not quiet:
                print(f"sources-crawler: the sources file needs fixing:\n{exc}", file=sys.stderr)
            return None


class Action(Protocol):
    """One subcommand: a module of its own under crawler/commands/sources/."""

    name: str
    usage: str  # what follows "scrapy sources": its syntax
    help_lines: tuple[tuple[str, str], ...]  # (synopsis, what it does) lines of the help's table

    def add_arguments(self, parser: ActionParser) -> None: ...

    def run(self, context: Context, args: argparse.Namespace) -> int: ...
