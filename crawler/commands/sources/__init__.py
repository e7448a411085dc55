"""``scrapy sources ACTION``: tools for the sources file, the state and the runs.

One module per action, each with its own options (crawler/commands/sources/action.py says how
they are parsed): ``list``, ``check``, ``discover``, ``digest``, ``health``, ``report``,
``enqueue``, ``worker``, ``backfill``, ``search`` and ``alerts``. Scrapy names the command after
this package; the action modules hold no Scrapy command of their own, so they add none."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand, ScrapyHelpFormatter
from scrapy.exceptions import UsageError

from crawler.commands.sources.action import Action, ActionParser, Context, UnusableSourcesFileError
from crawler.commands.sources.alerts import Alerts
from crawler.commands.sources.backfill import Backfill
from crawler.commands.sources.check import Check
from crawler.commands.sources.digest import Digest
from crawler.commands.sources.discover import Discover
from crawler.commands.sources.distributed import Enqueue, Worker
from crawler.commands.sources.health import Health, Report
from crawler.commands.sources.list_sources import ListSources
from crawler.commands.sources.search import Search
from crawler.commands.sources.show import Show
from crawler.exit_codes import EXIT_CONFIG_ERROR

__all__ = ["ACTIONS", "Command"]

ACTIONS: dict[str, Action] = {
    action.about.name: action
    for action in (
        ListSources(),
        Check(),
        Discover(),
        Digest(),
        Health(),
        Report(),
        Show(),
        Enqueue(),
        Worker(),
        Backfill(),
        Search(),
        Alerts(),
    )
}
USAGE = " | ".join(action.about.usage for action in ACTIONS.values())


def _help() -> str:
    lines = ["Tools for the sources file, the state and the runs (README.md says more):", ""]
    lines += [f"  {synopsis:<28}{text}" for action in ACTIONS.values() for synopsis, text in action.about.help_lines]
    return "\n".join(lines) + "\n"


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return USAGE

    def short_desc(self) -> str:
        return "List, check and discover sources; render a digest of an output file"

    def long_desc(self) -> str:
        return _help()

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        # Scrapy's options only: each action's own are its parser's (action.py).
        super().add_options(parser)
        parser.formatter_class = _PlainHelpFormatter  # the actions' table keeps its lines

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # These commands print a report; Scrapy's log would bury it. -L INFO brings it back.
        # A worker is a service: its log is what it has to say.
        action, _ = _split(args)
        if (self.settings.getpriority("LOG_LEVEL") or 0) < 40 and not (action is not None and action.about.logs):
            self.settings.set("LOG_LEVEL", "ERROR", priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        action, rest = _split(args)
        if action is None:
            named = next((arg for arg in args if not arg.startswith("-")), None)
            raise UsageError(f"unknown action {named!r}: {USAGE}" if named else f"say what to do: {USAGE}")
        about = action.about
        parser = ActionParser(prog=f"scrapy sources {about.name}", usage=f"scrapy sources {about.usage}")
        action.add_arguments(parser)
        parsed = parser.parse_args(rest)
        from crawler.commands.crawl import project_defaults
        from crawler.config.setting_types import setting_problems

        assert self.settings is not None
        typed = setting_problems(self.settings, project_defaults())
        if typed:
            raise UsageError("; ".join(typed))
        context = Context(self.settings, self.crawler_process, _set_options(opts))
        try:
            self.exitcode = action.run(context, parsed)
        except UnusableSourcesFileError:
            self.exitcode = EXIT_CONFIG_ERROR


def _split(args: list[str]) -> tuple[Action | None, list[str]]:
    """The action named and the rest of the line for its parser. Scrapy leaves an action's
    options wherever they stood, so the action is the first word that names one."""
    for index, arg in enumerate(args):
        if arg in ACTIONS:
            return ACTIONS[arg], args[:index] + args[index + 1 :]
    return None, args


def _set_options(opts: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The command line's -s NAME=VALUE pairs, in order."""
    return tuple((name, value) for name, _, value in (option.partition("=") for option in opts.set or []))


class _PlainHelpFormatter(ScrapyHelpFormatter):
    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))
