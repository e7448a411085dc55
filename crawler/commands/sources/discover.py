"""``discover URL``: find a site's feeds and sitemaps, guess its language, and print an entry
to paste into the sources file."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.exit_codes import EXIT_OK, EXIT_SOURCE_FAILED

__all__ = ["Discover"]


class Discover:
    about = About.line("discover URL", "find a site's feeds and sitemaps and print an entry to paste")

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("url", metavar="URL", help="the site (https:// is tried first when no scheme is given)")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.net.plain_fetch import plain_fetcher
        from crawler.net.site_finder import discover_site, source_entry, suggested_name

        # Without a scheme: https first, then plain http (a site, or a test server, without TLS).
        tries = [args.url] if "://" in args.url else [f"https://{args.url}", f"http://{args.url}"]
        for url in tries:
            fetch = plain_fetcher(context.settings, {(urlsplit(url).hostname or "").lower()})
            result = discover_site(url, fetch)
            if not result.problem:
                break
        if result.problem:
            return refuse(result.problem, EXIT_SOURCE_FAILED)
        for candidate in result.feeds + result.sitemaps:
            mark = "ok " if candidate.usable else "-- "
            print(f"{mark} {candidate.kind:8} {candidate.url}  ({candidate.found_by}: {candidate.detail})")
        if result.language:
            basis = f"of {result.sample_article}" if result.sample_article else "of the titles"
            print(f"language {basis}: {result.language} ({result.language_confidence:.2f})")
        config = context.valid_config()
        taken = {source.name for source in config.sources} if config is not None else set()
        name = suggested_name(result.final_url or result.url, taken)
        print(f"\nPaste under 'sources:' in config/sources.yaml, then try it: scrapy sources check {name}\n")
        print(source_entry(result, taken), end="")
        return EXIT_OK if result.usable_feeds or result.usable_sitemaps else EXIT_SOURCE_FAILED
