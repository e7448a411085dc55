"""``backfill --from ccnews | --warc PATH|URL … [--since] [--until] [--sources] [--enqueue]``:
articles of the configured sources read from web archives (crawler/archives), through the same
pipeline and state as a crawl.

The action settles what to read (the WARC files named, and the CC-NEWS files whose capture
times meet the window), then becomes ``scrapy crawl sources -a archives=…``: the same checks,
lock, exit statuses and run summary as a crawl, and signals reach the crawl itself. With
``--enqueue`` each file is one job of a distributed run instead (crawler/distributed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from typing import Any

from scrapy.exceptions import UsageError

from crawler import settings as defaults
from crawler.archives.ccnews import listing_urls, parse_listing, select_files, warc_url
from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.commands.sources.distributed import enqueue
from crawler.config.sources_file import Source, SourcesError, select_sources
from crawler.config.windows import parse_since, parse_until, until_end
from crawler.distributed.plan import BackfillSpec
from crawler.exit_codes import EXIT_CONFIG_ERROR, EXIT_OK, EXIT_UNAVAILABLE

__all__ = ["Backfill"]

USAGE = "backfill --from ccnews|--warc PATH|URL… [--since DATE] [--until DATE] [--sources NAMES] [--enqueue]"
# A file list longer than this goes to the crawl in a file (one argument may hold 128 KiB).
INLINE_LIST = 64 * 1024
LISTING_ATTEMPTS = 3


class Backfill:
    about = About(
        "backfill",
        USAGE,
        (("backfill --from ccnews|--warc …", "articles from CC-NEWS or WARC files, through the same pipeline"),),
        logs=True,
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--from", dest="archive", choices=["ccnews"], help="Common Crawl's CC-NEWS (CCNEWS_URL)")
        parser.add_argument("--warc", nargs="+", default=[], metavar="PATH|URL", help="WARC files to read")
        parser.add_argument("--since", help="the first day (YYYY-MM-DD) or a span back (30d)")
        parser.add_argument("--until", help="the last day (YYYY-MM-DD), included")
        parser.add_argument("--sources", help="comma-separated source names (default: all enabled)")
        parser.add_argument("--enqueue", action="store_true", help="one job per file on the RQ queue")
        parser.add_argument("--wait", action="store_true", help="with --enqueue: wait and exit with the run's status")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        if not args.archive and not args.warc:
            raise UsageError(f"say what to read: {USAGE}")
        since, until = _window(args.since, args.until)
        if args.archive == "ccnews" and since is None:
            raise UsageError("--from ccnews needs --since: CC-NEWS holds every month since 2016")
        config = context.config()
        try:
            sources = select_sources(config, args.sources)
        except SourcesError as exc:
            return refuse(f"--sources {args.sources}: {'; '.join(p.message for p in exc.problems)}", EXIT_CONFIG_ERROR)
        locations = list(dict.fromkeys(args.warc))
        if args.archive == "ccnews":
            assert since is not None
            found = _ccnews_files(context.settings, since, until)
            if found is None:
                return refuse("no CC-NEWS listing of the window could be read (CCNEWS_URL)", EXIT_UNAVAILABLE)
            locations += [location for location in found if location not in locations]
        if not locations:
            print("Nothing to read: no WARC file meets the window")
            return EXIT_OK
        spargs = {"sources": ",".join(s.name for s in sources), "since": args.since, "until": args.until}
        if args.enqueue:
            return _enqueue(context, list(sources), locations, spargs, args.wait)
        _become_crawl(context, locations, spargs)
        return EXIT_OK  # not reached: the process is the crawl now


def _window(since_arg: str | None, until_arg: str | None) -> tuple[float | None, float | None]:
    """--since and --until as Unix times ([since, until): until is the end of its day)."""
    since = until = None
    if since_arg:
        parsed = parse_since(since_arg)
        if isinstance(parsed, str):
            raise UsageError(f"--since {since_arg}: {parsed}")
        since = parsed.start(time.time())
    if until_arg:
        day = parse_until(until_arg)
        if isinstance(day, str):
            raise UsageError(f"--until {until_arg}: {day}")
        until = until_end(day)
        if since is not None and until <= since:
            raise UsageError(f"--until {until_arg} is before --since {since_arg}")
    return since, until


def _day(moment: float) -> date:
    return datetime.fromtimestamp(moment, UTC).date()


def _ccnews_files(settings: Any, since: float, until: float | None) -> list[str] | None:
    """The CC-NEWS files of the window, from its monthly listings; None when none could be read."""
    base = settings.get("CCNEWS_URL") or defaults.CCNEWS_URL
    timeout = settings.getfloat("DOWNLOAD_TIMEOUT", defaults.DOWNLOAD_TIMEOUT)
    end = until if until is not None else time.time()
    paths: list[str] = []
    read = 0
    for url in listing_urls(base, _day(since), _day(end - 1)):
        listed = _listing(url, timeout)
        if listed is not None:
            read += 1
            paths += listed
    if not read:
        return None
    chosen = select_files(paths, since, end)
    print(f"CC-NEWS: {len(chosen)} of {len(paths)} listed files meet the window", file=sys.stderr)
    return [warc_url(base, path) for path in chosen]


def _listing(url: str, timeout: float) -> list[str] | None:
    """One month's paths; None (said on standard error) when the listing cannot be had."""
    import requests  # only a CC-NEWS backfill needs it

    problem = ""
    for attempt in range(1, LISTING_ATTEMPTS + 1):
        try:
            response = requests.get(url, timeout=timeout)
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                try:
                    return parse_listing(response.content)
                except ValueError as exc:
                    problem = str(exc)
                    break
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:
                break
        if attempt < LISTING_ATTEMPTS:
            time.sleep(attempt)
    print(f"sources-crawler: CC-NEWS listing {url} not read ({problem}); its month is left out", file=sys.stderr)
    return None


def _crawl_arguments(context: Context, locations: list[str], spargs: dict[str, str | None]) -> list[str]:
    listed = json.dumps(locations)
    if len(listed.encode()) > INLINE_LIST:
        handle, path = tempfile.mkstemp(prefix="sources-backfill-", suffix=".json")
        with os.fdopen(handle, "w") as file:
            file.write(listed)
        listed = f"@{path}"
    command = [sys.executable, "-m", "scrapy", "crawl", "sources", "-a", f"archives={listed}"]
    command += [arg for name, value in spargs.items() if value for arg in ("-a", f"{name}={value}")]
    settings = context.settings
    for name, value in context.set_options:
        command += ["-s", f"{name}={value}"]
    for name in ("LOG_LEVEL", "LOG_FILE"):  # -L and --logfile, which are not -s options
        if (settings.getpriority(name) or 0) >= 40 and not any(n == name for n, _ in context.set_options):
            command += ["-s", f"{name}={settings.get(name)}"]
    return command


def _become_crawl(context: Context, locations: list[str], spargs: dict[str, str | None]) -> None:
    """Replace this process with the crawl: its exit status and signals are the crawl's own."""
    command = _crawl_arguments(context, locations, spargs)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def _enqueue(
    context: Context, sources: list[Source], locations: list[str], spargs: dict[str, str | None], wait: bool
) -> int:
    backfill = BackfillSpec(tuple(locations), spargs.get("since"), spargs.get("until"))
    return enqueue(context, sources, len(locations), wait, backfill)
