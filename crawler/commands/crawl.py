"""`scrapy crawl`, with the sources file validated before anything starts.

A mistake in the YAML is a user error, not a crash: it is printed as one line
per problem (file, line, source, key) and the command exits with status 2
without creating the crawler, so no request is made and no traceback shown.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.exit_codes import EXIT_CONFIG_ERROR
from crawler.sources import SourcesError, load_sources, select_sources
from crawler.translation import PROVIDERS

SPIDER_NAME = "sources"


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and args[0] == SPIDER_NAME:
            assert self.settings is not None
            try:
                config = load_sources(self.settings.get("SOURCES_FILE"))
                select_sources(config, opts.spargs.get("sources"))
            except SourcesError as exc:
                print(f"sources-crawler: not crawling, the sources file needs fixing:\n{exc}", file=sys.stderr)
                self.exitcode = EXIT_CONFIG_ERROR
                return
            provider = str(self.settings.get("TRANSLATION_PROVIDER", "google")).strip().lower()
            if provider != "none" and provider not in PROVIDERS:
                known = ", ".join([*PROVIDERS, "none"])
                print(
                    f"sources-crawler: unknown TRANSLATION_PROVIDER {provider!r}; use one of {known}", file=sys.stderr
                )
                self.exitcode = EXIT_CONFIG_ERROR
                return
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
        super().run(args, opts)
