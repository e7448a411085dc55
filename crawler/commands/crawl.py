"""`scrapy crawl`, with the sources file validated and the state database locked first.

A mistake in the YAML is a user error, not a crash: it is printed as one line
per problem (file, line, source, key) and the command exits with status 2
without creating the crawler, so no request is made and no traceback shown.
A second run against the same STATE_DB exits at once with status 75; a state
database that is not one, or an output that cannot be written, stops the run
before any request (66, 74). The exit status of a finished run is 1 when a
source produced nothing because of errors, 74 when an output failed on the way.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import fields
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler import settings as project_settings
from crawler.config.setting_types import setting_problems
from crawler.config.sources_file import SourcesError, load_sources, select_sources
from crawler.config.windows import Since, parse_since, parse_until
from crawler.evidence.schedule import RevisitSchedule
from crawler.exit_codes import (
    EXIT_CONFIG_ERROR,
    EXIT_DEGRADED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_OUTPUT_FAILED,
    EXIT_SOURCE_FAILED,
    EXIT_STATE_UNUSABLE,
)
from crawler.frontier.retry import DEFAULT_GIVE_UP_AFTER, parse_give_up_after
from crawler.health.assess import HealthRules
from crawler.output.exporters import check_output_location
from crawler.output.summary import archive_figures
from crawler.quiet_log import install as install_quiet_log
from crawler.spiders.archive_backfill import archive_locations
from crawler.state.lock import RunLockedError
from crawler.state.opener import preflight, run_lock
from crawler.state.store import StateError
from crawler.translation import PROVIDERS, provider_name

SPIDER_NAME = "sources"


class Command(ScrapyCrawlCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # Before Scrapy's start-up banner, which comes with the crawler process.
        install_quiet_log(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1 or args[0] != SPIDER_NAME:
            super().run(args, opts)
            return
        assert self.settings is not None and self.crawler_process is not None
        problem = self._check(opts)
        if problem:
            print(f"sources-crawler: {problem}", file=sys.stderr)
            self.exitcode = EXIT_CONFIG_ERROR
            return
        problem, status = self._check_files()
        if problem:
            print(f"sources-crawler: not crawling: {problem}", file=sys.stderr)
            self.exitcode = status
            return
        shard = opts.spargs.get("shard")
        try:
            lock = run_lock(self.settings, opts.spargs.get("run"), int(shard) if shard else None)
            lock.acquire()
        except RunLockedError as exc:
            print(f"sources-crawler: {exc}", file=sys.stderr)
            self.exitcode = EXIT_LOCKED
            return
        except StateError as exc:
            print(f"sources-crawler: not crawling: {exc}", file=sys.stderr)
            self.exitcode = EXIT_STATE_UNUSABLE
            return
        except OSError as exc:
            print(f"sources-crawler: not crawling: cannot lock {lock.where}: {exc.strerror or exc}", file=sys.stderr)
            self.exitcode = EXIT_STATE_UNUSABLE
            return
        try:
            crawler = self.crawler_process.create_crawler(SPIDER_NAME)
            self.crawler_process.crawl(crawler, **opts.spargs)
            self.crawler_process.start()
        finally:
            lock.release()
        try:
            stats = crawler.stats.get_stats()
        except RuntimeError:  # the crawl never got as far as creating its stats
            stats = {}
        self.exitcode = _exit_status(self.crawler_process.bootstrap_failed, stats)

    def _check_files(self) -> tuple[str | None, int]:
        """The state database and the outputs, checked before anything is crawled."""
        assert self.settings is not None
        try:
            preflight(self.settings)
        except StateError as exc:
            return str(exc), EXIT_STATE_UNUSABLE
        feeds = self.settings.getdict("FEEDS") or self.settings.getdict("DEFAULT_FEEDS")
        for uri in feeds:
            problem = check_output_location(str(uri))
            if problem:
                return problem, EXIT_OUTPUT_FAILED
        return None, EXIT_OK

    def _check(self, opts: argparse.Namespace) -> str | None:
        assert self.settings is not None
        try:
            config = load_sources(self.settings.get("SOURCES_FILE"))
        except SourcesError as exc:
            return f"not crawling, the sources file needs fixing:\n{exc}"
        try:
            select_sources(config, opts.spargs.get("sources"))
        except SourcesError as exc:
            problems = "; ".join(problem.message for problem in exc.problems)
            return f"not crawling: -a sources={opts.spargs.get('sources')}: {problems}"
        typed = setting_problems(self.settings, project_defaults())
        if typed:
            raise UsageError("; ".join(typed))
        from crawler.config.watchlists_file import WatchlistsError
        from crawler.output.watchlists import watchlists_config

        try:
            watchlists_config(self.settings)
        except WatchlistsError as exc:
            return f"not crawling, the watchlists file needs fixing:\n{exc}"
        provider = provider_name(self.settings)
        if provider != "none" and provider not in PROVIDERS:
            return f"unknown TRANSLATION_PROVIDER {provider!r}; use one of {', '.join([*PROVIDERS, 'none'])}"
        shard, run = opts.spargs.get("shard"), opts.spargs.get("run")
        if shard is not None or run is not None:
            if not (run and shard and shard.isdigit()):
                raise UsageError("-a run=ID -a shard=K go together (K a number); scrapy sources enqueue sets them")
            if not self.settings.get("STATE_URL"):
                return "a shard of a distributed run needs its state in PostgreSQL: set STATE_URL"
        problem = _argument_problem(opts.spargs) or _window_problem(opts.spargs)
        if problem:
            raise UsageError(problem)
        try:
            parse_give_up_after(self.settings.get("RETRY_GIVE_UP_AFTER") or DEFAULT_GIVE_UP_AFTER)
            RevisitSchedule.from_settings(self.settings)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        full = opts.spargs.get("full")
        if full is not None and str(full).strip().lower() not in (
            "0",
            "1",
            "true",
            "false",
            "yes",
            "no",
            "on",
            "off",
            "",
        ):
            raise UsageError(f"-a full={full}: use full=1 or full=0")
        return None


def project_defaults() -> dict[str, Any]:
    """Every setting of the project with its default: crawler/settings.py and the HEALTH_* rules."""
    defaults = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    defaults.update({f"HEALTH_{spec.name.upper()}": spec.default for spec in fields(HealthRules)})
    return defaults


# The spider's arguments (-a NAME=VALUE); sources_spider.SourcesSpider.__init__ takes these.
SPIDER_ARGUMENTS = ("sources", "full", "limit", "since", "until", "report", "run", "shard", "run_time", "archives")


def _argument_problem(spargs: dict[str, str]) -> str | None:
    """An -a argument the spider does not take (Scrapy would set it silently), or a bad -a limit."""
    for name in spargs:
        if name not in SPIDER_ARGUMENTS:
            match = difflib.get_close_matches(name, SPIDER_ARGUMENTS, n=1)
            hint = f" (did you mean -a {match[0]}=…?)" if match else ""
            return f"-a {name}=…: no such argument{hint}; the crawl takes -a {', -a '.join(SPIDER_ARGUMENTS[:5])}"
    if spargs.get("archives"):
        try:
            archive_locations(spargs["archives"])
        except ValueError as exc:
            return str(exc)
    limit = spargs.get("limit")
    if limit is not None and not (limit.strip().isdigit() and int(limit) > 0):
        return f"-a limit={limit}: give a whole number of articles per source, at least 1"
    return None


def _window_problem(spargs: dict[str, str]) -> str | None:
    """-a since=DATE|DURATION and -a until=DATE, as the spider will read them."""
    since, until = spargs.get("since"), spargs.get("until")
    if since:
        parsed = parse_since(since)
        if isinstance(parsed, str):
            return f"-a since={since}: {parsed}"
    if until:
        day = parse_until(until)
        if isinstance(day, str):
            return f"-a until={until}: {day}"
        if since and isinstance(parsed, Since) and parsed.day is not None and day < parsed.day:
            return f"-a until={until} is before -a since={since}"
    return None


def _exit_status(bootstrap_failed: bool, stats: dict[str, object]) -> int:
    """The documented exit status of a finished run, worst first."""
    if stats.get("output/failed"):
        return EXIT_OUTPUT_FAILED
    if stats.get("state/failed"):
        return EXIT_STATE_UNUSABLE
    if bootstrap_failed or stats.get("summary/failed_sources"):
        return EXIT_SOURCE_FAILED
    if stats.get("finish_reason") == "shutdown":
        return EXIT_INTERRUPTED
    if stats.get("summary/degraded_sources") or _archive_trouble(stats):
        return EXIT_DEGRADED
    return EXIT_OK


def _archive_trouble(stats: dict[str, object]) -> bool:
    """A backfill that could not read every file whole: missing, failed half-way (both read
    again by the next backfill) or broken (truncated or corrupt: its later pages are lost)."""
    figures = archive_figures(stats)
    return figures is not None and any(figures["files"][kind] for kind in ("missing", "failed", "broken"))
