"""``check [NAME ...|--all]``: without names, validate the sources file; with names, crawl
those sources for real (a few articles each, a throw-away state database, no translation
sent) and report every step: what each feed or sitemap gave, what was extracted from the
articles, what translation would do, and whether the provider answers now."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler import settings as defaults
from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.config.sources_file import Source, SourcesError, select_sources
from crawler.exit_codes import EXIT_CONFIG_ERROR, EXIT_OK, EXIT_SOURCE_FAILED
from crawler.items import TranslationStatus
from crawler.net.fetch_advice import browser_figures, fetch_advice
from crawler.stats import per_source
from crawler.translation import provider_name
from crawler.translation.base import LANGUAGE_NAMES
from crawler.translation.policy import translation_decision, translation_languages

__all__ = ["Check"]


def _check_watchlists(settings: Any) -> int | None:
    """The watchlists file (WATCHLISTS_FILE) validated beside the sources file: a line saying so,
    or its problems and the exit status of a usage error."""
    from crawler.config.watchlists_file import WatchlistsError
    from crawler.output.watchlists import watchlists_config

    try:
        watchlists = watchlists_config(settings)
    except WatchlistsError as exc:
        return refuse(f"the watchlists file needs fixing:\n{exc}", EXIT_CONFIG_ERROR)
    if watchlists is not None:
        hooks = len(watchlists.webhooks)
        print(f"{watchlists.path}: valid; {len(watchlists.watchlists)} watchlists, {hooks} with a webhook")
    return None


class Check:
    about = About(
        "check",
        "check [NAME ...|--all]",
        (
            ("check", "validate the sources file"),
            ("check NAME [NAME ...]", "crawl those sources for real (2 articles each, a throw-away state,"),
            ("", "no translation sent) and print every step; --all: every enabled one"),
        ),
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("names", metavar="NAME", nargs="*", help="sources to try")
        parser.add_argument("--all", action="store_true", help="try every enabled source")
        parser.add_argument("--articles", type=int, default=2, help="articles to try per source (default 2)")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        config = context.config()
        names = [source.name for source in config.enabled] if args.all else args.names
        if not names:
            print(f"{config.path}: valid; {len(config.sources)} sources, {len(config.enabled)} enabled")
            if (problem := _check_watchlists(context.settings)) is not None:
                return problem
            print("Name sources to try them: scrapy sources check NAME [NAME ...] (or --all)")
            return EXIT_OK
        try:
            sources = select_sources(config, names)
        except SourcesError as exc:
            return refuse(str(exc), EXIT_CONFIG_ERROR)
        plan = _Plan.of(context.settings)
        report, offsite, records, stats = _crawl(context, sources, args.articles)
        worked = True
        for source in sources:
            worked &= _print_check(source, report, records, plan, offsite.get(source.name))
            _print_fetch(source, stats.get(source.name, {}))
        worked &= _print_probe(context.settings, plan, sources)
        return EXIT_OK if worked else EXIT_SOURCE_FAILED


@dataclass(frozen=True)
class _Plan:
    """What translation would do: the crawl's settings, read before the check turns it off."""

    provider: str
    languages: set[str]
    target: str

    @classmethod
    def of(cls, settings: Any) -> _Plan:
        target = str(settings.get("TRANSLATION_TARGET", defaults.TRANSLATION_TARGET)).strip().lower()
        return cls(provider_name(settings), translation_languages(settings), target)

    def describe(self, record: dict[str, Any], source: Source) -> str:
        language = record.get("language")
        name = LANGUAGE_NAMES.get(language or "", language or "unknown")
        status, why = translation_decision(language, self.target, self.languages, self.provider, source)
        if status == TranslationStatus.NOT_NEEDED:
            return f"{name}: no translation needed"
        if status == TranslationStatus.SKIPPED:
            return f"{name}: would not be translated ({why})"
        return f"{name}: would be translated to {LANGUAGE_NAMES.get(self.target, self.target)} {why}"


def _crawl(
    context: Context, sources: tuple[Source, ...], articles: int
) -> tuple[list[dict[str, Any]], dict[str, Counter[str]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """A real crawl of ``sources``, with its own state and no provider calls: the spider's
    report, the links it found outside allowed_domains, the records it wrote and each
    source's counters."""
    settings, process = context.settings, context.process
    workdir = Path(tempfile.mkdtemp(prefix="sources-check-"))
    output = workdir / "articles.jsonl"
    settings.set("STATE_DB", str(workdir / "state.sqlite3"), priority="cmdline")
    settings.set("STATE_URL", "", priority="cmdline")  # a throw-away state, never the shared one
    settings.set("FEEDS", {str(output): {"format": "jsonlines", "store_empty": True}}, priority="cmdline")
    settings.set("TRANSLATION_PROVIDER", "none", priority="cmdline")
    crawler = process.create_crawler("sources")
    process.crawl(crawler, sources=",".join(s.name for s in sources), full="1", limit=str(articles), report="1")
    process.start()
    check = getattr(crawler.spider, "check", None)  # None: the crawl never started (no spider)
    report: list[dict[str, Any]] = check.events if check is not None else []
    offsite: dict[str, Counter[str]] = check.offsite_links if check is not None else {}
    lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
    stats = per_source(crawler.stats.get_stats()) if crawler.stats is not None else {}
    return report, offsite, [json.loads(line) for line in lines], stats


def _print_check(
    source: Source,
    report: list[dict[str, Any]],
    records: list[dict[str, Any]],
    plan: _Plan,
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
                _print_record(record, plan.describe(record, source))
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


def _print_fetch(source: Source, stats: dict[str, Any]) -> None:
    """The browser's figures and what the source's answers suggest about render and proxy."""
    if (figures := browser_figures(stats)) is not None:
        print(f"browser: {figures}")
    for advice in fetch_advice(source, stats):
        print(f"hint: {advice}")


def _print_record(record: dict[str, Any], translation: str) -> None:
    pad = " " * 13
    published = record["published"] or "(none found)"
    tags = ", ".join(record["tags"][:5]) or "(none)"
    print(f"{pad}title:     {record['title'][:100]}")
    print(f"{pad}published: {published}   author: {record['author'] or '(none)'}")
    print(f"{pad}language:  {record['language']} ({record['language_confidence']:.2f})   tags: {tags}")
    for line in record["text"].split("\n")[:3]:
        print(f"{pad}| {line[:110]}")
    print(f"{pad}translation: {translation}")


def _print_probe(settings: Any, plan: _Plan, sources: tuple[Source, ...]) -> bool:
    from crawler.translation.probe import probe_translation

    print("\n== translation ==")
    if plan.provider == "none":
        print("--  TRANSLATION_PROVIDER=none: articles are written untranslated")
        return True
    # The check's own crawl set the provider to "none": the probe asks the configured one.
    result = probe_translation(settings, plan.provider, plan.target, (source.language for source in sources))
    if result.answer is None:
        print(f"!!  {plan.provider} does not translate now: {result.problem}")
        print("             articles would go out untranslated (status failed) and be translated on a later run")
        return False
    print(f"ok  {result.label} answers: {result.sent!r} -> {result.answer!r}")
    return True
