"""``search "QUERY" [--since] [--source] [--lang] [--story] [--limit N] [--json]``: the delivered
articles, originals and translations, that hold the query's words in any inflected form (a
"quoted phrase" as a phrase, ``-word`` excluded), newest first, with snippets."""

from __future__ import annotations

import argparse
import json
import time

from scrapy.exceptions import UsageError

from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.config.windows import parse_since
from crawler.exit_codes import EXIT_OK, EXIT_STATE_UNUSABLE
from crawler.parsing.dates import utc_timestamp

__all__ = ["Search", "since_time"]


def since_time(text: str | None, now: float) -> float | None:
    """``--since`` (a day, 2026-11-01, or a span back from now, 7d) as a Unix time."""
    if not text:
        return None
    since = parse_since(text)
    if isinstance(since, str):
        raise UsageError(f"--since: {since}")
    return since.start(now)


def _names(values: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip() for v in values or [] for n in v.split(",") if n.strip()))


class Search:
    about = About(
        "search",
        'search "QUERY" [--since WHEN] [--source NAME] [--lang XX] [--story ID] [--limit N] [--json]',
        (
            ('search "QUERY"', "delivered articles holding the words, in any inflected form;"),
            ("", '"a phrase", -excluded, =exact; --since, --source, --lang, --story, --json'),
        ),
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("query", metavar="QUERY", nargs="+", help='words, "phrases", -excluded, =exact')
        parser.add_argument("--since", metavar="WHEN", help="dated on or after: a day (2026-11-01) or 7d, 12h")
        parser.add_argument("--source", action="append", metavar="NAME", help="only these sources (repeat or comma)")
        parser.add_argument("--lang", action="append", metavar="XX", help="only articles in these languages")
        parser.add_argument("--story", metavar="ID", help="only the articles of this story")
        parser.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results (20)")
        parser.add_argument("--json", action="store_true", help="JSON lines instead of text")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.output.search import search
        from crawler.state.opener import open_reader
        from crawler.state.store import StateError
        from crawler.watch.search_query import parse_query

        if args.limit < 1:
            raise UsageError("--limit: give a number of results, 1 or more")
        text = " ".join(args.query)
        try:
            query = parse_query(
                text, since=since_time(args.since, time.time()), sources=_names(args.source),
                languages=tuple(n.lower() for n in _names(args.lang)), story=args.story, limit=args.limit,
            )  # fmt: skip
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            reads = open_reader(context.settings)
            try:
                hits = search(reads, query)
            finally:
                reads.close()
        except StateError as exc:
            return refuse(str(exc), EXIT_STATE_UNUSABLE)
        if args.json:
            for hit in hits:
                print(json.dumps(hit.as_dict(), ensure_ascii=False))
            return EXIT_OK
        print(f"{len(hits)} article{'s' if len(hits) != 1 else ''} for {text} (newest first)")
        for note in query.notes:
            print(f"({note})")
        for hit in hits:
            _print_hit(hit.row, hit.terms, hit.original, hit.english)
        return EXIT_OK


def _print_hit(row: dict, terms: tuple[str, ...], original: str | None, english: str | None) -> None:
    when = (row.get("published") or utc_timestamp(row["delivered"]))[:16].replace("T", " ")
    change = f"  [{row['change']}]" if row.get("change") else ""
    print(f"\n{when}  {row['source']}  {row.get('language') or '?'}  story {row.get('story_id')}{change}")
    if row.get("title_en"):
        print(f"  {row['title_en']}")
    print(f"  {row.get('title') or ''}")
    print(f"  {row['url']}")
    if original:
        print(f"  {row.get('language') or 'original'}: {original}")
    if english and english != original:
        print(f"  en: {english}")
