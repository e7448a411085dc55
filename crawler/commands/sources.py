"""`scrapy sources list | check [NAME ...] | discover URL | digest FILE`: tools for the sources file.

* ``list``: the configured sources and, once runs have happened, their last figures.
* ``check``: without names, validate the sources file; with names, crawl those
  sources for real (two articles each, a throw-away state database, no
  translation calls) and report every step: what each feed or sitemap gave,
  what was extracted from the articles, what translation would do.
* ``discover URL``: find a site's feeds and sitemaps and print an entry to paste.
* ``digest FILE``: render a JSON lines output file for reading (``--markdown``,
  ``--original``), the latest record per article winning; given a distributed run's
  ``….manifest.json``, every shard file it names.
* ``health``: each source's health learned from past runs; exit 1 when an enabled one is flagged.
* ``report --output FILE.html``: the same as a self-contained HTML page with a chart per source.
* ``enqueue [--shards K] [--wait]``: one run over several machines, as RQ jobs (crawler/distributed).
* ``worker [--burst]``: an RQ worker on the project's queue that runs those jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.commands import ScrapyCommand, ScrapyHelpFormatter
from scrapy.exceptions import UsageError

from crawler import settings as defaults
from crawler.config.sources_file import Source, SourcesConfig, SourcesError, load_sources, select_sources
from crawler.exit_codes import (
    EXIT_CONFIG_ERROR,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_OUTPUT_FAILED,
    EXIT_SOURCE_FAILED,
    EXIT_STATE_UNUSABLE,
    EXIT_UNAVAILABLE,
)
from crawler.health.assess import DAY, HealthRules, SourceHealth, assess_all
from crawler.health.report import ReportRow, render_report
from crawler.health.text import format_health, health_json
from crawler.items import TranslationStatus
from crawler.output.exporters import write_text_atomically
from crawler.parsing.dates import utc_timestamp
from crawler.state.lock import RunLockedError
from crawler.state.opener import last_run_summary, state_url, stored_history
from crawler.state.store import StateError
from crawler.translation import provider_name
from crawler.translation.base import LANGUAGE_NAMES
from crawler.translation.policy import translation_decision, translation_languages

HELP = """Tools for the sources file, the state and the runs (README.md says more):

  list                        the configured sources, the last run's figures and their health
  check                       validate the sources file
  check NAME [NAME ...]       crawl those sources for real (2 articles each, a throw-away state,
                              no translation sent) and print every step; --all: every enabled one
  discover URL                find a site's feeds and sitemaps and print an entry to paste
  digest FILE                 render an output file (or a run's manifest) for reading
  health [--json]             each source's health from past runs; exit 1 when one is flagged
  report --output FILE.html   the same as one self-contained HTML page
  enqueue [--shards K]        one run over several machines (Redis queue, PostgreSQL state)
  worker [--burst]            a worker that runs those shards
"""

USAGE = (
    "list | check [NAME ...|--all] | discover URL | digest FILE [--markdown] [--original] [--output OUT]"
    " | health [--json] | report --output FILE.html | enqueue [--shards K] [--wait] | worker [--burst]"
)


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return USAGE

    def short_desc(self) -> str:
        return "List, check and discover sources; render a digest of an output file"

    def long_desc(self) -> str:
        return HELP

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        # The actions' table keeps its lines (argparse would fill it into one paragraph).
        parser.formatter_class = _PlainHelpFormatter
        self._add_options(parser)

    def _add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--markdown", action="store_true", help="digest: Markdown instead of plain text")
        parser.add_argument("--original", action="store_true", help="digest: add the original-language text")
        parser.add_argument("--output", metavar="FILE", help="digest, report: write here instead of standard output")
        parser.add_argument("--json", action="store_true", help="health: JSON instead of a table")
        parser.add_argument("--articles", type=int, default=2, help="check: articles to try per source (default 2)")
        parser.add_argument("--all", action="store_true", help="check: try every enabled source")
        parser.add_argument("--shards", type=int, default=None, help="enqueue: shards to split the run into")
        parser.add_argument("--wait", action="store_true", help="enqueue: wait for the run, exit with its status")
        parser.add_argument("--burst", action="store_true", help="worker: quit once the queue is empty")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # These commands print a report; Scrapy's log would bury it. -L INFO brings it back.
        # A worker is a service: its log is what it has to say.
        if (self.settings.getpriority("LOG_LEVEL") or 0) < 40 and args[:1] != ["worker"]:
            self.settings.set("LOG_LEVEL", "ERROR", priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError(f"say what to do: {USAGE}")
        action, rest = args[0], args[1:]
        handlers = {
            "list": self._list,
            "check": self._check,
            "discover": self._discover,
            "digest": self._digest,
            "health": self._health,
            "report": self._report,
            "enqueue": self._enqueue,
            "worker": self._worker,
        }
        if action not in handlers:
            raise UsageError(f"unknown action {action!r}: {USAGE}")
        from crawler.commands.crawl import project_defaults
        from crawler.config.setting_types import setting_problems

        typed = setting_problems(self.settings, project_defaults())
        if typed:
            raise UsageError("; ".join(typed))
        self.exitcode = handlers[action](rest, opts)

    # --- helpers -------------------------------------------------------------------------

    def _config(self, quiet: bool = False) -> SourcesConfig | None:
        assert self.settings is not None
        try:
            return load_sources(self.settings.get("SOURCES_FILE"))
        except SourcesError as exc:
            if not quiet:
                print(f"sources-crawler: the sources file needs fixing:\n{exc}", file=sys.stderr)
            return None

    # --- list ----------------------------------------------------------------------------

    def _list(self, args: list[str], opts: argparse.Namespace) -> int:
        config = self._config()
        if config is None:
            return EXIT_CONFIG_ERROR
        assert self.settings is not None
        last = last_run_summary(self.settings)
        figures = (last or {}).get("sources", {})
        when = f"last run {last['finished']}" if last else "no run recorded yet"
        if last and last.get("shards"):
            failed = last["shards"].get("failed") or []
            when += f" over {last['shards']['count']} shards" + (f", failed shards {failed}" if failed else "")
        print(f"{config.path}: {len(config.sources)} sources, {len(config.enabled)} enabled; {when}\n")
        header = ["NAME", "LANG", "ENABLED", "NEW", "UPDATED", "UNCHANGED", "EMITTED", "NOT EMITTED", "RETRYING"]
        header += ["GIVEN UP", "STATUS", "HEALTH"]
        header.append("DISCOVERY")
        health = {entry.name: entry for entry in self._healths(config)[0]}
        rows = [header]
        for source in config.sources:
            stats = figures.get(source.name)
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
                cells += ["-"] * 8
            known = health[source.name]
            cells.append(", ".join(known.flags) or ("ok" if known.runs else "-"))
            urls = source.roots
            rows.append([*cells, f"{urls[0][0]:8} {urls[0][1]}"])
            rows.extend([*([""] * (len(header) - 1)), f"{kind:8} {url}"] for kind, url in urls[1:])
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
        return EXIT_OK

    # --- health and report ----------------------------------------------------------------

    def _healths(self, config: SourcesConfig) -> tuple[list[SourceHealth], list[tuple[float, dict[str, Any]]]]:
        assert self.settings is not None
        rules = HealthRules.from_settings(self.settings)
        now = time.time()
        history = stored_history(self.settings, now - rules.history_days * DAY)
        healths = assess_all(history, [source.name for source in config.sources], now, rules)
        return list(healths.values()), history

    def _health(self, args: list[str], opts: argparse.Namespace) -> int:
        config = self._config()
        if config is None:
            return EXIT_CONFIG_ERROR
        healths, history = self._healths(config)
        enabled = [source.name for source in config.enabled]
        if opts.json:
            print(json.dumps(health_json(healths, enabled), ensure_ascii=False, indent=2))
        else:
            when = f"last run {utc_timestamp(history[-1][0])}" if history else "no run recorded yet"
            print(f"{config.path}: {len(history)} runs in the history; {when}\n")
            print(format_health(healths, enabled))
        flagged = [health.name for health in healths if health.flags and health.name in enabled]
        return EXIT_SOURCE_FAILED if flagged else EXIT_OK

    def _report(self, args: list[str], opts: argparse.Namespace) -> int:
        if not opts.output:
            raise UsageError("say where: scrapy sources report --output FILE.html")
        config = self._config()
        if config is None:
            return EXIT_CONFIG_ERROR
        assert self.settings is not None
        healths, history = self._healths(config)
        by_name = {source.name: source for source in config.sources}
        rows = [ReportRow(health, by_name[health.name].language, by_name[health.name].enabled) for health in healths]
        page = render_report(rows, history, time.time(), HealthRules.from_settings(self.settings).window_days)
        target = Path(opts.output)
        try:
            write_text_atomically(target, page)
        except OSError as exc:
            print(f"sources-crawler: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_OUTPUT_FAILED
        flagged = sum(1 for row in rows if row.enabled and row.health.flags)
        print(f"{target}: {len(rows)} sources, {flagged} flagged, {len(history)} runs")
        return EXIT_OK

    # --- check ---------------------------------------------------------------------------

    def _check(self, names: list[str], opts: argparse.Namespace) -> int:
        config = self._config()
        if config is None:
            return EXIT_CONFIG_ERROR
        if opts.all:
            names = [source.name for source in config.enabled]
        if not names:
            print(f"{config.path}: valid; {len(config.sources)} sources, {len(config.enabled)} enabled")
            print("Name sources to try them: scrapy sources check NAME [NAME ...] (or --all)")
            return EXIT_OK
        try:
            sources = select_sources(config, names)
        except SourcesError as exc:
            print(f"sources-crawler: {exc}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        assert self.settings is not None and self.crawler_process is not None
        workdir = Path(tempfile.mkdtemp(prefix="sources-check-"))
        output = workdir / "articles.jsonl"
        provider = provider_name(self.settings)
        languages = translation_languages(self.settings)
        target = str(self.settings.get("TRANSLATION_TARGET", defaults.TRANSLATION_TARGET)).strip().lower()
        # A real crawl of these sources, but with its own state and no provider calls.
        self.settings.set("STATE_DB", str(workdir / "state.sqlite3"), priority="cmdline")
        self.settings.set("STATE_URL", "", priority="cmdline")  # a throw-away state, never the shared one
        self.settings.set("FEEDS", {str(output): {"format": "jsonlines", "store_empty": True}}, priority="cmdline")
        self.settings.set("TRANSLATION_PROVIDER", "none", priority="cmdline")
        crawler = self.crawler_process.create_crawler("sources")
        self.crawler_process.crawl(
            crawler, sources=",".join(s.name for s in sources), full="1", limit=str(opts.articles), report="1"
        )
        self.crawler_process.start()
        report: list[dict[str, Any]] = getattr(crawler.spider, "report", [])
        offsite: dict[str, Counter[str]] = getattr(crawler.spider, "offsite_links", {})
        records = (
            [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] if output.exists() else []
        )
        worked = True
        for source in sources:
            worked &= _print_check(source, report, records, provider, languages, target, offsite.get(source.name))
        worked &= _probe_translation(self.settings, provider, target, sources)
        return EXIT_OK if worked else EXIT_SOURCE_FAILED

    # --- discover ------------------------------------------------------------------------

    def _discover(self, args: list[str], opts: argparse.Namespace) -> int:
        from crawler.net.site_finder import discover_site, source_entry, suggested_name

        if len(args) != 1:
            raise UsageError("discover takes one URL: scrapy sources discover https://example.com/")
        assert self.settings is not None
        # Without a scheme: https first, then plain http (a site, or a test server, without TLS).
        tries = [args[0]] if "://" in args[0] else [f"https://{args[0]}", f"http://{args[0]}"]
        for url in tries:
            fetch = _fetcher(self.settings, {(urlsplit(url).hostname or "").lower()})
            result = discover_site(url, fetch)
            if not result.problem:
                break
        if result.problem:
            print(f"sources-crawler: {result.problem}", file=sys.stderr)
            return EXIT_SOURCE_FAILED
        for candidate in result.feeds + result.sitemaps:
            mark = "ok " if candidate.usable else "-- "
            print(f"{mark} {candidate.kind:8} {candidate.url}  ({candidate.found_by}: {candidate.detail})")
        if result.language:
            basis = f"of {result.sample_article}" if result.sample_article else "of the titles"
            print(f"language {basis}: {result.language} ({result.language_confidence:.2f})")
        config = self._config(quiet=True)
        taken = {source.name for source in config.sources} if config is not None else set()
        name = suggested_name(result.final_url or result.url, taken)
        print(f"\nPaste under 'sources:' in config/sources.yaml, then try it: scrapy sources check {name}\n")
        print(source_entry(result, taken), end="")
        return EXIT_OK if result.usable_feeds or result.usable_sitemaps else EXIT_SOURCE_FAILED

    # --- several machines --------------------------------------------------------------------

    def _enqueue(self, args: list[str], opts: argparse.Namespace) -> int:
        from crawler.distributed.queue import QueueUnavailableError, enqueue_run, wait_for_run

        config = self._config()
        if config is None:
            return EXIT_CONFIG_ERROR
        assert self.settings is not None
        shards = opts.shards if opts.shards is not None else self.settings.getint("SHARDS", defaults.SHARDS)
        if args or shards < 1:
            raise UsageError("enqueue [--shards K] [--wait]: K at least 1")
        try:
            if state_url(self.settings) is None:
                raise StateError("enqueue needs the state in PostgreSQL, shared by the workers: set STATE_URL")
            enqueued = enqueue_run(self.settings, list(config.enabled), shards, _set_options(opts))
        except RunLockedError as exc:
            print(f"sources-crawler: {exc}", file=sys.stderr)
            return EXIT_LOCKED
        except StateError as exc:
            print(f"sources-crawler: not enqueueing: {exc}", file=sys.stderr)
            return EXIT_STATE_UNUSABLE
        except QueueUnavailableError as exc:
            print(f"sources-crawler: not enqueueing: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        plan = enqueued.plan
        print(f"run {plan.run_id}: {len(config.enabled)} sources in {len(plan.assignment)} of {shards} shards")
        print(f"manifest: {plan.manifest}")
        return wait_for_run(self.settings, enqueued) if opts.wait else EXIT_OK

    def _worker(self, args: list[str], opts: argparse.Namespace) -> int:
        from crawler.distributed.jobs import WORKER_SETTINGS_ENV
        from crawler.distributed.queue import QueueUnavailableError, start_worker

        assert self.settings is not None
        # This machine's own -s settings (EXTRACTION_WORKERS, ...) go to the crawls it runs.
        os.environ[WORKER_SETTINGS_ENV] = json.dumps(_set_options(opts))
        try:
            start_worker(self.settings, burst=opts.burst)
        except QueueUnavailableError as exc:
            print(f"sources-crawler: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        return EXIT_OK

    # --- digest --------------------------------------------------------------------------

    def _digest(self, args: list[str], opts: argparse.Namespace) -> int:
        from crawler.output.digest import latest_records, render_all

        if len(args) != 1:
            raise UsageError(
                "digest takes one JSON lines file or run manifest: scrapy sources digest output/FILE.jsonl"
            )
        path = Path(args[0])
        try:
            records = latest_records(_output_lines(path))
        except OSError as exc:
            print(f"sources-crawler: cannot read {exc.filename or path}: {exc.strerror}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        except ValueError as exc:
            print(f"sources-crawler: {path} is not a run manifest: {exc}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        text = (
            "".join(render_all(records, markdown=opts.markdown, original=opts.original)) or f"No articles in {path}.\n"
        )
        if opts.output:
            target = Path(opts.output)
            write_text_atomically(target, text)
            print(f"{len(records)} articles written to {target}")
        else:
            sys.stdout.write(text)
        return EXIT_OK


class _PlainHelpFormatter(ScrapyHelpFormatter):
    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _output_lines(path: Path) -> Iterator[str]:
    """The lines of a JSON lines output, or of every file a distributed run's manifest names."""
    from crawler.distributed.manifest import MANIFEST_SUFFIX, manifest_files

    if not path.name.endswith(MANIFEST_SUFFIX):
        with path.open(encoding="utf-8") as lines:
            yield from lines
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or "files" not in manifest:
        raise ValueError("it names no files")
    for file in manifest_files(manifest, path):
        with file.open(encoding="utf-8") as lines:
            yield from lines


def _set_options(opts: argparse.Namespace) -> list[tuple[str, str]]:
    """The command line's -s NAME=VALUE pairs, in order."""
    pairs = []
    for option in getattr(opts, "set", None) or []:
        name, _, value = option.partition("=")
        pairs.append((name, value))
    return pairs


def _translation_plan(record: dict[str, Any], source: Source, provider: str, languages: set[str], target: str) -> str:
    language = record.get("language")
    name = LANGUAGE_NAMES.get(language or "", language or "unknown")
    status, why = translation_decision(language, target, languages, provider, source)
    if status == TranslationStatus.NOT_NEEDED:
        return f"{name}: no translation needed"
    if status == TranslationStatus.SKIPPED:
        return f"{name}: would not be translated ({why})"
    return f"{name}: would be translated to {LANGUAGE_NAMES.get(target, target)} {why}"


def _print_check(
    source: Source,
    report: list[dict[str, Any]],
    records: list[dict[str, Any]],
    provider: str,
    languages: set[str],
    target: str,
    offsite: Counter[str] | None = None,
) -> bool:
    print(f"\n== {source.name} ({source.language or 'no language hint'}) ==")
    events = [event for event in report if event.get("source") == source.name]
    for event in events:
        mark = "?? " if event.get("warning") else "ok " if event["ok"] else "!! "
        print(f"{mark} {event['step']:8} {event['url']}")
        print(f"             {event['detail']}")
        if event["step"] == "article" and event["ok"]:
            record = next((r for r in records if r.get("url") == event["url"]), None)
            if record:
                pad = " " * 13
                published = record["published"] or "(none found)"
                tags = ", ".join(record["tags"][:5]) or "(none)"
                print(f"{pad}title:     {record['title'][:100]}")
                print(f"{pad}published: {published}   author: {record['author'] or '(none)'}")
                print(f"{pad}language:  {record['language']} ({record['language_confidence']:.2f})   tags: {tags}")
                for line in record["text"].split("\n")[:3]:
                    print(f"             | {line[:110]}")
                print(f"             translation: {_translation_plan(record, source, provider, languages, target)}")
    got = [r for r in records if r.get("source") == source.name]
    if not events:
        print("!!  nothing was fetched (robots.txt or network?)")
    if offsite:
        hosts = ", ".join(f"{host} ({count})" for host, count in offsite.most_common(5))
        print(f"??  {sum(offsite.values())} article link(s) lead outside allowed_domains, not fetched: {hosts}")
        print("             add the domain to allowed_domains if they are this source's articles")
    if got:
        print(f"result: works — {len(got)} article(s) extracted")
        return True
    print("result: NO article came out; see the steps above")
    return False


# One short sentence per language the probe may send (its sources' languages first).
_PROBES = {"uk": "Уряд ухвалив рішення.", "ru": "Правительство приняло решение.", "be": "Урад прыняў рашэнне."}
PROBE_TIMEOUT = 10.0


def _probe_translation(settings: Any, provider: str, target: str, sources: tuple[Source, ...]) -> bool:
    """Send the provider one short sentence, as the crawl would: does it answer, and with what?"""
    from crawler.translation import TranslationError, provider_from_settings
    from crawler.translation.service import check_translation

    print("\n== translation ==")
    if provider == "none":
        print("--  TRANSLATION_PROVIDER=none: articles are written untranslated")
        return True
    language = next((s.language for s in sources if s.language in _PROBES), "uk")
    text = _PROBES[language]
    try:
        service = provider_from_settings(settings, provider)  # the check's own crawl sets "none"
        problem = service.check()
        if problem:
            raise TranslationError("unavailable", problem)
        [answer] = service.translate([text], language, target, time.monotonic() + PROBE_TIMEOUT)
        answer = check_translation(text, answer, target)
    except TranslationError as exc:
        print(f"!!  {provider} does not translate now: {exc}")
        print("             articles would go out untranslated (status failed) and be translated on a later run")
        return False
    except Exception as exc:  # a provider library's own error: said in one line, not a traceback
        print(f"!!  {provider} does not translate now: {type(exc).__name__}: {str(exc)[:200]}")
        return False
    print(f"ok  {service.label} answers: {text!r} -> {answer!r}")
    return True


def _fetcher(settings: Any, named_hosts: set[str]) -> Any:
    """A plain HTTP fetch for discover: limits, our User-Agent, the network guard."""
    import requests

    from crawler.net.guard import allowed_hosts, is_public_address
    from crawler.net.site_finder import FetchError

    allowed = allowed_hosts(settings)
    session = requests.Session()
    session.headers["User-Agent"] = settings.get("USER_AGENT")
    session.max_redirects = settings.getint("REDIRECT_MAX_TIMES", defaults.REDIRECT_MAX_TIMES)
    timeout = min(settings.getfloat("DOWNLOAD_TIMEOUT", defaults.DOWNLOAD_TIMEOUT), 30)
    limit = settings.getint("DOWNLOAD_MAXSIZE", defaults.DOWNLOAD_MAXSIZE)

    def check_host(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"only http and https URLs are fetched: {url}")
        host = (parts.hostname or "").lower()
        if allowed is None or host in named_hosts or host in allowed:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)}
        except OSError as exc:
            raise FetchError(f"DNS lookup failed for {host}: {exc.strerror or exc}") from None
        if not all(is_public_address(address) for address in addresses):
            raise FetchError(f"{host} resolves to a non-public address; refused")

    def fetch(url: str) -> tuple[str, int, str, bytes]:
        # Redirects are followed by hand so that every hop passes the network guard.
        for _ in range(session.max_redirects + 1):
            check_host(url)
            try:
                response = session.get(url, timeout=timeout, stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                detail = str(exc.args[0]) if exc.args else ""
                raise FetchError(f"{exc.__class__.__name__}: {detail[:200]}") from None
            if response.is_redirect and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            try:
                body = b""
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"larger than {limit} bytes")
            except requests.RequestException as exc:
                raise FetchError(f"{exc.__class__.__name__}: {str(exc)[:200]}") from None
            finally:
                response.close()
            return url, response.status_code, response.headers.get("Content-Type", ""), body
        raise FetchError(f"more than {session.max_redirects} redirects")

    return fetch
