"""``alerts [--since WHEN] [--watchlist NAME] [--json]``: what the watchlists matched, newest
first, with what became of each story's webhook alert (sent, waiting and why, given up)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.commands.sources.search import since_time
from crawler.exit_codes import EXIT_OK, EXIT_STATE_UNUSABLE
from crawler.parsing.dates import utc_timestamp

__all__ = ["Alerts", "alert_status"]


def alert_status(match: dict[str, Any]) -> str:
    """What became of the alert of a match's watchlist and story."""
    if match.get("alerted_article") is None:
        return "no webhook"
    if match["alerted_article"] != match["article_id"]:
        return f"alerted with {match['alerted_article']} (same story)"
    if match.get("sent"):
        return f"sent {utc_timestamp(match['sent'])}"
    if match.get("given_up"):
        return f"given up {utc_timestamp(match['given_up'])} after {match['attempts']} attempts: {match['error']}"
    if match.get("attempts"):
        return f"waiting: {match['attempts']} attempts failed, last {match['error']}"
    return "waiting: not sent yet"


class Alerts:
    about = About.line(
        "alerts [--since WHEN] [--watchlist NAME] [--json]", "what the watchlists matched, and each story's alert"
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--since", metavar="WHEN", default="1d", help="matched since: a day or a span (1d)")
        parser.add_argument("--watchlist", action="append", metavar="NAME", help="only these watchlists")
        parser.add_argument("--json", action="store_true", help="JSON lines instead of text")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.state.opener import open_reader
        from crawler.state.store import StateError

        since = since_time(args.since, time.time()) or 0.0
        wanted = {n.strip() for v in args.watchlist or [] for n in v.split(",") if n.strip()}
        try:
            reads = open_reader(context.settings)
            try:
                matches = reads.matches_since(since)
            finally:
                reads.close()
        except StateError as exc:
            return refuse(str(exc), EXIT_STATE_UNUSABLE)
        matches = [m for m in matches if not wanted or m["watchlist"] in wanted]
        for match in matches:
            match["terms"] = _terms(match["terms"])
            match["alert"] = alert_status(match)
        if args.json:
            for match in matches:
                print(json.dumps(match, ensure_ascii=False))
            return EXIT_OK
        print(f"{len(matches)} match{'es' if len(matches) != 1 else ''} since {utc_timestamp(since)}")
        for m in matches:
            change = f" [{m['change']}]" if m.get("change") else ""
            print(f"\n{utc_timestamp(m['matched'])}  {m['watchlist']}  {m['source']}  story {m['story_id']}{change}")
            print(f"  {m.get('title_en') or m.get('title') or ''}")
            print(f"  {m.get('url') or m['article_id']}")
            print(f"  terms: {', '.join(m['terms'])} ({m['mentions']} mentions, in {m['seen_in']})")
            print(f"  alert: {m['alert']}")
        return EXIT_OK


def _terms(text: Any) -> list[str]:
    try:
        terms = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [str(term) for term in terms] if isinstance(terms, list) else []
