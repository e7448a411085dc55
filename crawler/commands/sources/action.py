"""What every ``scrapy sources`` action shares: its own options, and the run it is given.

Scrapy parses a command line once, with one parser per command; the actions of ``sources``
each have options of their own. Scrapy's own options (``-s``, ``-L``, ...) are parsed by
Scrapy wherever they stand, and everything else is left to the action named, whose parser
refuses what it does not know: ``scrapy sources list --burst`` is a usage error."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from scrapy.exceptions import UsageError

from crawler.config.sources_file import SourcesConfig, SourcesError, load_sources
from crawler.exit_codes import EXIT_OUTPUT_FAILED
from crawler.output.exporters import write_text_atomically

__all__ = ["About", "Action", "ActionParser", "Context", "UnusableSourcesFileError", "refuse", "write_output"]


class ActionParser(argparse.ArgumentParser):
    """An action's options; a mistake is Scrapy's usage error (exit 2, with the usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


class UnusableSourcesFileError(Exception):
    """The sources file has problems (already printed): the action ends with exit 78."""


@dataclass(frozen=True)
class About:
    """An action as the help lists it."""

    name: str
    usage: str  # what follows "scrapy sources": its syntax
    help_lines: tuple[tuple[str, str], ...]  # (synopsis, what it does) lines of the help's table
    logs: bool = False  # a service (worker): its log is what it has to say, so it is not quietened

    @classmethod
    def line(cls, usage: str, text: str, logs: bool = False) -> About:
        """An action whose help is one line, its synopsis its usage."""
        return cls(usage.split()[0], usage, ((usage, text),), logs)


@dataclass(frozen=True)
class Context:
    """What an action runs with: the project's settings, Scrapy's process for the actions that
    crawl, and the command line's ``-s NAME=VALUE`` pairs, in order (for the crawls that
    enqueue and worker start elsewhere)."""

    settings: Any
    process: Any
    set_options: tuple[tuple[str, str], ...]

    def config(self) -> SourcesConfig:
        """The sources file; UnusableSourcesFileError once its problems are printed."""
        try:
            return load_sources(self.settings.get("SOURCES_FILE"))
        except SourcesError as exc:
            refuse(f"the sources file needs fixing:\n{exc}", 0)
            raise UnusableSourcesFileError from None

    def valid_config(self) -> SourcesConfig | None:
        """The sources file, or None (and nothing said) when it has problems."""
        try:
            return load_sources(self.settings.get("SOURCES_FILE"))
        except SourcesError:
            return None


def refuse(message: str, status: int) -> int:
    """Say why on standard error, in one line, and give the exit status to end with."""
    print(f"sources-crawler: {message}", file=sys.stderr)
    return status


def write_output(target: Path, text: str) -> int | None:
    """Write ``text`` to ``target`` whole (or not at all); the exit status if it cannot be."""
    try:
        write_text_atomically(target, text)
    except OSError as exc:
        return refuse(f"cannot write {target}: {exc.strerror or exc}", EXIT_OUTPUT_FAILED)
    return None


class Action(Protocol):
    """One subcommand: a module of its own under crawler/commands/sources/."""

    about: About

    def add_arguments(self, parser: ActionParser) -> None: ...

    def run(self, context: Context, args: argparse.Namespace) -> int: ...
