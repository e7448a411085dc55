"""``show ID``: an article as its site served it, from the WARC archive (``WARC_DIR``): the
record delivered last, then the archived HTTP response (status and headers) and what the page
gives when extracted again, or with ``--html`` the page itself."""

from __future__ import annotations

import argparse
import gzip
import sys
import zlib
from typing import Any

from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.exit_codes import EXIT_CONFIG_ERROR, EXIT_OK, EXIT_SOURCE_FAILED

__all__ = ["Show"]


class Show:
    about = About.line("show ID [--html]", "an article as its site served it (WARC_DIR); ID or URL")

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("id", metavar="ID", help="an article id, or its URL")
        parser.add_argument("--html", action="store_true", help="print the archived page as served")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.evidence.changes import change_line
        from crawler.parsing.urls import article_id
        from crawler.state.opener import open_store
        from crawler.state.store import StateError

        wanted = article_id(args.id) if "://" in args.id else args.id
        try:
            store = open_store(context.settings)
            try:
                record = store.evidence_records([wanted]).get(wanted)
            finally:
                store.close()
        except StateError as exc:
            return refuse(str(exc), EXIT_CONFIG_ERROR)
        if record is None:
            return refuse(f"no delivered article {args.id} in the state (or it was pruned)", EXIT_CONFIG_ERROR)
        if not args.html:
            print(_about(record, change_line(record.get("change"))))
        pointer = record.get("warc")
        if not pointer:
            print("\nNo WARC copy: WARC_DIR was not set when it was fetched. The record's text:\n")
            print(record.get("text") or "")
            return EXIT_OK
        return _show_archived(pointer, record, args.html)


def _about(record: dict[str, Any], change: str | None) -> str:
    lines = [
        f"{record.get('title')}",
        f"  id {record.get('id')}, revision {record.get('revision')}, source {record.get('source')}",
        f"  {record.get('url')}",
        f"  fetched {record.get('fetched_at')}; language {record.get('language')}",
    ]
    if change:
        lines.append(f"  {change}")
    warc = record.get("warc")
    if warc:
        lines.append(f"  WARC {warc['file']} at {warc['offset']} ({warc['record_id']})")
    return "\n".join(lines)


def _show_archived(pointer: dict[str, Any], record: dict[str, Any], raw: bool) -> int:
    from crawler.evidence.warc_files import read_record
    from crawler.parsing.article import extract_article
    from crawler.parsing.records import Article, ExtractionOptions

    try:
        stored = next(read_record(pointer["file"], int(pointer["offset"])), None)
        if stored is None:
            return refuse(f"{pointer['file']} has no record at {pointer['offset']}", EXIT_SOURCE_FAILED)
        encoding = stored.http_headers.get_header("Content-Encoding") if stored.http_headers else None
        body = _decoded(stored.content_stream().read(), encoding)
    except OSError as exc:
        return refuse(f"cannot read {pointer['file']}: {exc.strerror or exc}", EXIT_SOURCE_FAILED)
    if stored.rec_type == "revisit":
        # A 304: the site said the page is as it was; the record carries that text.
        print(f"\n{stored.http_headers.protocol} {stored.http_headers.statusline} (WARC revisit record: "
              f"the page was as fetched before)\n\n{record.get('title')}\n\n{record.get('text')}")  # fmt: skip
        return EXIT_OK
    if raw:
        sys.stdout.buffer.write(body)
        return EXIT_OK
    if stored.rec_type == "conversion":
        print("\n(WARC conversion record: the page as the browser rendered it, not the bytes the site sent)")
    else:
        http = stored.http_headers
        print(f"\n{http.protocol} {http.statusline}")
        print("\n".join(f"{name}: {value}" for name, value in http.headers))
    url = stored.rec_headers.get_header("WARC-Target-URI")
    print(f"WARC-Date: {stored.rec_headers.get_header('WARC-Date')}\n")
    article = extract_article(body, ExtractionOptions(url=url, language_hint=record.get("language")))
    if isinstance(article, Article):
        same = "the same as" if article.text == record.get("text") else "NOT the same as"
        print(f"{article.title}\n\n{article.text}\n\n(the archived page gives {same} the record's text)")
    else:
        print(f"(no article in the archived page: {article.detail})")
    return EXIT_OK


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """warcio undoes gzip and deflate; anything it left (brotli without its module) is tried here."""
    if encoding and body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    if encoding and "deflate" in encoding.lower():
        try:
            return zlib.decompress(body)
        except zlib.error:
            return body
    return body
