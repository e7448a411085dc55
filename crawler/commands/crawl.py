"""`scrapy crawl`, with the sources file validated and the state database locked first.

A mistake in the YAML is a user error, not a crash: it is printed as one line
per problem (file, line, source, key) and the command exits with status 2
without creating the crawler, so no request is made and no traceback shown.
A second run against the same STATE_DB exits at once with status 75. The exit
status of a finished run is 1 when a source produced nothing because of errors.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.exit_codes import EXIT_CONFIG_ERROR, EXIT_LOCKED, EXIT_OK, EXIT_SOURCE_FAILED
from crawler.lock import RunLock, RunLockedError
from crawler.sources import SourcesError, load_sources, select_sources
from crawler.translation import PROVIDERS

SPIDER_NAME = "sources"


class Command(ScrapyCrawlCommand):
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
        lock = RunLock(self.settings.get("STATE_DB"))
        try:
            lock.acquire()
        except RunLockedError as exc:
            print(f"sources-crawler: {exc}", file=sys.stderr)
            self.exitcode = EXIT_LOCKED
            return
        try:
            crawler = self.crawler_process.create_crawler(SPIDER_NAME)
            self.crawler_process.crawl(crawler, **opts.spargs)
            self.crawler_process.start()
        finally:
            lock.release()
        if self.crawler_process.bootstrap_failed or (
            crawler.stats is not None and crawler.stats.get_value("summary/failed_sources")
        ):
            self.exitcode = EXIT_SOURCE_FAILED
        else:
            self.exitcode = EXIT_OK

    def _check(self, opts: argparse.Namespace) -> str | None:
        assert self.settings is not None
        try:
            config = load_sources(self.settings.get("SOURCES_FILE"))
            select_sources(config, opts.spargs.get("sources"))
        except SourcesError as exc:
            return f"not crawling, the sources file needs fixing:\n{exc}"
        provider = str(self.settings.get("TRANSLATION_PROVIDER", "google")).strip().lower()
        if provider != "none" and provider not in PROVIDERS:
            return f"unknown TRANSLATION_PROVIDER {provider!r}; use one of {', '.join([*PROVIDERS, 'none'])}"
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
