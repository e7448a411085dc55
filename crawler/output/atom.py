"""Atom 1.0 (RFC 4287) feeds of the translated stream: pure rendering of search rows.

Each entry is one article as last delivered: its English title, summary and text (the original,
marked with its language, where there is no English yet), its link, when it was published and
delivered, and categories for its original language, its story, its source and what became of
it (edited, removed). Ids are stable (name-based UUIDs), so a feed reader shows a revision as the
same entry updated, not a new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from crawler import __version__
from crawler.parsing.dates import unix_time

__all__ = ["FeedInfo", "render_feed"]

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Category schemes: what a category of an entry says.
SCHEME = "urn:sources-crawler:"
# Ids of feeds and entries: name-based UUIDs under this namespace, stable across runs and machines.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/sources-crawler")


@dataclass(frozen=True, slots=True)
class FeedInfo:
    kind: str  # "sources" or "watchlists"
    name: str
    title: str
    self_url: str | None = None


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: etree._Element, tag: str, text: str, language: str | None = None, kind: str = "text") -> None:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    if tag in ("title", "summary", "content", "subtitle"):
        element.set("type", kind)
    if language:
        element.set(XML_LANG, language)
    element.text = _xml_safe(text)


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold (control characters from a broken page) left out."""
    return "".join(c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c >= "\U00010000")  # fmt: skip


def _category(entry: etree._Element, scheme: str, term: str, label: str | None = None) -> None:
    element = etree.SubElement(entry, f"{{{ATOM}}}category", scheme=SCHEME + scheme, term=term)
    if label:
        element.set("label", label)


def _entry(feed: etree._Element, row: dict[str, Any]) -> None:
    entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
    etree.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'article:' + row['article_id'])}"
    english = bool(row.get("title_en"))
    language = row.get("language") or None
    title = row.get("title_en") or row.get("title") or row["url"]
    if row.get("change") == "removed":
        title = f"[removed] {title}"
    _text(entry, "title", title, None if english else language)
    etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=row["url"], type="text/html",
                     **({"hreflang": language} if language else {}))  # fmt: skip
    published = unix_time(row.get("published"))
    etree.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(row["delivered"])
    if published is not None:
        etree.SubElement(entry, f"{{{ATOM}}}published").text = _iso(published)
    author = etree.SubElement(entry, f"{{{ATOM}}}author")
    etree.SubElement(author, f"{{{ATOM}}}name").text = row["source"]
    summary = row.get("summary_en") if english else row.get("summary")
    if summary:
        _text(entry, "summary", summary, None if english else language)
    body = (row.get("text_en") if english else row.get("text")) or ""
    _text(entry, "content", body, None if english else language)
    if language:
        _category(entry, "language", language)
    _category(entry, "story", row.get("story_id") or row["article_id"])
    _category(entry, "source", row["source"])
    if row.get("change"):
        _category(entry, "change", row["change"])
    if not english:
        _category(entry, "translation", "untranslated", "not translated yet")


def render_feed(info: FeedInfo, rows: Iterable[dict[str, Any]]) -> bytes:
    """The feed's document: its newest entries first (``rows`` in that order)."""
    rows = list(rows)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set(XML_LANG, "en")
    etree.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{info.kind}:{info.name}')}"
    _text(feed, "title", info.title)
    # The newest entry's time, not the run's: a feed that did not change is the same file.
    newest = max((row["delivered"] for row in rows), default=0)
    etree.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(newest)
    etree.SubElement(feed, f"{{{ATOM}}}generator", version=__version__).text = "sources-crawler"
    if info.self_url:
        etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=info.self_url, type="application/atom+xml")
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    etree.SubElement(author, f"{{{ATOM}}}name").text = "sources-crawler"
    for row in rows:
        _entry(feed, row)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
