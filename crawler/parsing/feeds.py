"""Pure parsers for discovery documents: RSS 0.9x/1.0/2.0, Atom, JSON Feed, sitemaps.

They take bytes and the document's URL and return article links with whatever
metadata the document carries. The XML parser never resolves entities, never
touches the network and recovers what it can from broken documents.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.parsing.dates import format_iso, parse_date, unix_time
from crawler.parsing.kinds import DocumentKind
from crawler.parsing.urls import is_public_http_url_syntax

__all__ = [
    "DiscoveryError",
    "FeedEntry",
    "ParsedDocument",
    "SitemapLink",
    "gunzip_limited",
    "newest_entry",
    "parse_discovery_document",
]

# Documents this large are attacks or mistakes; the sitemap protocol caps at 50 MB.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_SUMMARY_CHARS = 2000
MAX_TAGS = 50


class DiscoveryError(ValueError):
    """A discovery document could not be used; the message says why."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """An article link with the metadata its feed or sitemap gave."""

    url: str
    title: str | None = None
    published: str | None = None
    updated: str | None = None
    summary: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    # The document's own date for this entry (updated, else published), as written
    # when it does not parse: compared only with itself on the next run.
    marker: str | None = None

    @property
    def changed_marker(self) -> str | None:
        """What tells whether the article changed since it was last seen: its modification
        time ("u:…"), else its publication time ("p:…"), else the date as written ("r:…").
        Times of one kind are compared across documents (see ``markers.is_newer``)."""
        if self.updated:
            return f"u:{self.updated}"
        if self.published:
            return f"p:{self.published}"
        return f"r:{self.marker}" if self.marker else None


@dataclass(frozen=True, slots=True)
class SitemapLink:
    url: str
    lastmod: str | None = None


@dataclass(slots=True)
class ParsedDocument:
    kind: DocumentKind
    entries: list[FeedEntry] = field(default_factory=list)
    sitemaps: list[SitemapLink] = field(default_factory=list)
    skipped_links: int = 0
    # The next page of a paged feed (RFC 5005 rel="next", JSON Feed next_url).
    next_page: str | None = None


def gunzip_limited(data: bytes, max_size: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Scrapy's gunzip (tolerant of a bad CRC or a cut-off tail), refusing to inflate past
    ``max_size`` (gzip bombs) or data that is not gzip at all, as DiscoveryError."""
    # Here, not at the top: the extraction workers import this module for FeedEntry, and
    # importing scrapy there would load all of it (45 MiB) into every worker's forkserver.
    from scrapy.utils.gz import gunzip

    try:
        return gunzip(data, max_size=max_size)
    except ValueError as exc:  # Scrapy's "decompressed past max_size" is a ValueError
        raise DiscoveryError("too_large", f"gzip data inflates past {max_size} bytes") from exc
    except (OSError, EOFError, struct.error, zlib.error) as exc:
        raise DiscoveryError("bad_gzip", f"gzip data does not decompress: {exc}") from exc


_XML_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "recover": True,
    "remove_comments": True,
    "remove_pis": True,
}


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Work done for one document is bounded: a sitemap may list 50,000 URLs.
MAX_ENTRIES = 100_000


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _text(element: etree._Element | None) -> str | None:
    """Text content; references to undefined entities (their DTD was dropped) are left out."""
    if element is None:
        return None
    parts = [element.text or ""]
    for node in element.iterdescendants():
        if not isinstance(node, etree._Entity):
            parts.append(node.text or "")
        parts.append(node.tail or "")
    text = "".join(parts).strip()
    return text or None


def _strip_html(text: str | None, limit: int | None = None) -> str | None:
    """Feed titles and descriptions often carry escaped HTML; keep the words."""
    if not text:
        return None
    if "<" in text or "&" in text:
        try:
            fragment = lxml_html.fragment_fromstring(text, create_parent="div")
            text = " ".join(fragment.itertext())
        except (etree.ParserError, ValueError):
            text = re.sub(r"<[^>]{0,500}>", " ", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def _date(value: str | None) -> str | None:
    parsed = parse_date(value)
    return format_iso(parsed) if isinstance(parsed, (datetime, date)) else None


def _raw_marker(*values: str | None) -> str | None:
    """The first date as written, for a date that does not parse or is implausible (a
    test clock, a typo): still good for telling whether it changed since last time."""
    for value in values:
        if value and value.strip():
            return " ".join(value.split())[:100]
    return None


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    link = link.strip()
    lowered = link.lower()
    if lowered.startswith(("javascript:", "mailto:", "data:", "tel:", "#")):
        return None
    try:
        absolute = urljoin(base, link)
    except ValueError:
        return None
    return absolute if is_public_http_url_syntax(absolute) is None else None


def _children(element: etree._Element, *names: str) -> list[etree._Element]:
    return [child for child in element if _local(child.tag) in names]


def _child_text(element: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in element:
            if _local(child.tag) == name:
                value = _text(child)
                if value:
                    return value
    return None


def _base_of(element: etree._Element, document_url: str) -> str:
    """The base URL in effect at ``element``: the document's, adjusted by xml:base."""
    bases = []
    node: etree._Element | None = element
    while node is not None:
        value = node.get(_XML_BASE)
        if value:
            bases.append(value.strip())
        node = node.getparent()
    base = document_url
    for value in reversed(bases):
        try:
            base = urljoin(base, value)
        except ValueError:
            break
    return base


def _entry_link(item: etree._Element, base: str) -> str | None:
    # FeedBurner and similar proxies keep the publisher's URL here.
    orig = _child_text(item, "origlink")
    if orig:
        return _absolute(orig, base)
    for link in _children(item, "link"):
        href = link.get("href")
        if href is not None:
            rel = (link.get("rel") or "alternate").lower()
            kind = (link.get("type") or "text/html").lower()
            if rel == "alternate" and ("html" in kind or kind == ""):
                return _absolute(href, _base_of(link, base))
            continue
        if _text(link):
            return _absolute(_text(link), _base_of(link, base))
    for link in _children(item, "link"):
        if link.get("href") and (link.get("rel") or "alternate").lower() == "alternate":
            return _absolute(link.get("href"), _base_of(link, base))
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    if about:
        return _absolute(about, base)
    for guid in _children(item, "guid", "id"):
        if (guid.get("isPermaLink") or "true").lower() != "false":
            value = _text(guid)
            if value and value.lower().startswith(("http://", "https://")):
                return _absolute(value, base)
    return None


def _entry_tags(item: etree._Element) -> tuple[str, ...]:
    tags: list[str] = []
    for child in item:
        name = _local(child.tag)
        if name == "category":
            value = child.get("term") or child.get("label") or _text(child)
        elif name in ("subject", "keywords", "tag"):
            value = _text(child)
        else:
            continue
        if not value:
            continue
        parts = value.split(",") if name == "keywords" else [value]
        tags.extend(" ".join(part.split()) for part in parts if part.strip())
    return tuple(dict.fromkeys(tags))[:MAX_TAGS]


def _entry_author(item: etree._Element) -> str | None:
    for child in item:
        name = _local(child.tag)
        if name == "author":
            value = _child_text(child, "name") or _text(child)
            if value:
                # RSS puts "email (Name)" here; keep the name.
                match = re.match(r"^\S+@\S+\s*\((.+)\)$", value)
                return match.group(1) if match else value
        elif name == "creator":
            value = _text(child)
            if value:
                return value
    return None


def _feed_entry(item: etree._Element, base: str, doc: ParsedDocument) -> None:
    url = _entry_link(item, base)
    if url is None:
        doc.skipped_links += 1
        return
    summary = _child_text(item, "description", "summary") or _child_text(item, "encoded", "content")
    raw_published = _child_text(item, "pubdate", "published", "issued", "date", "created")
    raw_updated = _child_text(item, "updated", "modified")
    doc.entries.append(
        FeedEntry(
            url=url,
            title=_strip_html(_child_text(item, "title"), 500),
            published=_date(raw_published),
            updated=_date(raw_updated),
            summary=_strip_html(summary, MAX_SUMMARY_CHARS),
            author=_strip_html(_entry_author(item), 200),
            tags=_entry_tags(item),
            marker=_raw_marker(raw_updated, raw_published),
        )
    )


def _sitemap_entry(node: etree._Element, base: str, doc: ParsedDocument) -> None:
    name = _local(node.tag)
    url = _absolute(_child_text(node, "loc"), base)
    if url is None:
        doc.skipped_links += 1
        return
    raw_lastmod = _child_text(node, "lastmod")
    lastmod = _date(raw_lastmod)
    if name == "sitemap":
        doc.sitemaps.append(SitemapLink(url, lastmod or _raw_marker(raw_lastmod)))
        return
    news = next((child for child in node if _local(child.tag) == "news"), None)
    title = published = raw_published = None
    tags: tuple[str, ...] = ()
    if news is not None:
        title = _strip_html(_child_text(news, "title"), 500)
        raw_published = _child_text(news, "publication_date")
        published = _date(raw_published)
        keywords = _child_text(news, "keywords")
        if keywords:
            tags = tuple(dict.fromkeys(k.strip() for k in keywords.split(",") if k.strip()))[:MAX_TAGS]
    doc.entries.append(
        FeedEntry(
            url=url,
            title=title,
            published=published,
            updated=lastmod,
            tags=tags,
            marker=_raw_marker(raw_lastmod, raw_published),
        )
    )


_FEED_ROOTS = {"rss": DocumentKind.RSS, "rdf": DocumentKind.RDF, "feed": DocumentKind.ATOM, "channel": DocumentKind.RSS}
_SITEMAP_ROOTS = {"urlset": DocumentKind.SITEMAP, "sitemapindex": DocumentKind.SITEMAPINDEX}


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def _drop_doctype(body: bytes) -> bytes:
    """Remove the DOCTYPE declaration and its internal subset.

    Feeds and sitemaps need no DTD; the internal subset is where entity bombs
    ("billion laughs", quadratic blowup) and external entities (XXE) live. Without
    it their references are undefined and the parser skips them, keeping the rest."""
    match = _DOCTYPE.search(body, 0, 4096)
    if match is None:
        return body
    start = match.start()
    close = body.find(b">", start)
    bracket = body.find(b"[", start)
    if bracket != -1 and (close == -1 or bracket < close):
        end = body.find(b"]>", bracket)
        end = -1 if end == -1 else end + 2
        if end == -1:
            end = body.find(b"]", bracket)
            end = -1 if end == -1 else body.find(b">", end) + 1
    else:
        end = close + 1 if close != -1 else -1
    if end <= 0:
        return body[:start]
    return body[:start] + body[end:]


def _is_next_link(element: etree._Element) -> bool:
    """A feed-level <link rel="next"> (RFC 5005 paged feeds, in Atom or as atom:link in RSS)."""
    if _local(element.tag) != "link" or (element.get("rel") or "").lower() != "next" or not element.get("href"):
        return False
    return not any(_local(a.tag) in ("item", "entry") for a in element.iterancestors())


def _parse_xml(body: bytes, url: str) -> ParsedDocument:
    """Stream the document: each entry is handled, then freed, so memory stays flat."""
    events = etree.iterparse(io.BytesIO(body), events=("start", "end"), **_XML_PARSER_OPTIONS)
    doc: ParsedDocument | None = None
    depth = 0
    entry_tags: tuple[str, ...] = ()
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if doc is None:
                    kind = _local(element.tag)
                    if kind in _SITEMAP_ROOTS:
                        doc, entry_tags = ParsedDocument(kind=_SITEMAP_ROOTS[kind]), ("url", "sitemap")
                    elif kind in _FEED_ROOTS:
                        doc, entry_tags = ParsedDocument(kind=_FEED_ROOTS[kind]), ("item", "entry")
                    elif kind in ("html", "head", "body"):
                        raise DiscoveryError("not_a_feed", "an HTML page, not a feed or sitemap")
                    else:
                        raise DiscoveryError("not_a_feed", f"unknown XML document <{kind}>")
                continue
            depth -= 1
            if doc is not None and doc.next_page is None and _is_next_link(element):
                doc.next_page = _absolute(element.get("href"), _base_of(element, url))
            if doc is None or _local(element.tag) not in entry_tags:
                continue
            if doc.kind.is_sitemap:
                # Only direct children of the root are sitemap entries.
                if depth == 1:
                    _sitemap_entry(element, url, doc)
            elif not any(_local(a.tag) in ("item", "entry") for a in element.iterancestors()):
                _feed_entry(element, _base_of(element, url), doc)
            else:
                continue
            if len(doc.entries) + len(doc.sitemaps) + doc.skipped_links >= MAX_ENTRIES:
                break
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if doc is None:
            raise DiscoveryError("malformed", f"unreadable XML: {exc}") from None
        # A truncated or broken document: keep what was read before the damage.
    if doc is None:
        raise DiscoveryError("malformed", "unreadable XML: no root element")
    return doc


def _json_feed(data: object, base: str) -> ParsedDocument:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise DiscoveryError("not_a_feed", "JSON document without an 'items' list (not a JSON Feed)")
    doc = ParsedDocument(kind=DocumentKind.JSONFEED)
    next_url = data.get("next_url")
    doc.next_page = _absolute(next_url, base) if isinstance(next_url, str) else None
    for item in data["items"]:
        if not isinstance(item, dict):
            doc.skipped_links += 1
            continue
        link = item.get("url") or item.get("external_url")
        url = _absolute(link if isinstance(link, str) else None, base)
        if url is None:
            doc.skipped_links += 1
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = next((a.get("name") for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)), None)
        tags = tuple(str(tag) for tag in item.get("tags") or [] if isinstance(tag, (str, int)))[:MAX_TAGS]

        def text_field(*names: str, item: dict = item) -> str | None:
            for name in names:
                value = item.get(name)
                if isinstance(value, str) and value.strip():
                    return value
            return None

        doc.entries.append(
            FeedEntry(
                url=url,
                title=_strip_html(text_field("title"), 500),
                published=_date(text_field("date_published")),
                updated=_date(text_field("date_modified")),
                summary=_strip_html(text_field("summary", "content_text", "content_html"), MAX_SUMMARY_CHARS),
                author=author,
                tags=tags,
                marker=_raw_marker(text_field("date_modified"), text_field("date_published")),
            )
        )
    return doc


def _plain_text_sitemap(text: str, base: str) -> ParsedDocument:
    doc = ParsedDocument(kind=DocumentKind.TEXT)
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        url = _absolute(line, base)
        if url is None:
            doc.skipped_links += 1
        else:
            doc.entries.append(FeedEntry(url=url))
    return doc


def newest_entry(entries: Iterable[FeedEntry]) -> float | None:
    """The Unix time of the newest dated entry (published, else updated), or None."""
    times = [unix_time(entry.published or entry.updated) for entry in entries]
    return max((moment for moment in times if moment is not None), default=None)


def parse_discovery_document(body: bytes, url: str) -> ParsedDocument:
    """Parse a feed or sitemap of any supported kind; raise DiscoveryError if it is none."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip_limited(body)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise DiscoveryError("too_large", f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise DiscoveryError("empty", "empty document")
    if stripped[:1] in (b"{", b"["):
        try:
            data = json.loads(stripped.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError) as exc:
            raise DiscoveryError("malformed", f"invalid JSON: {exc}") from None
        return _json_feed(data, url)
    head = stripped[:512].lower()
    if b"<" not in head:
        if b"\x00" in stripped[:4096]:
            raise DiscoveryError("not_a_feed", "binary data, not a feed or sitemap")
        text = stripped.decode("utf-8", errors="replace")
        if text.lstrip().lower().startswith(("http://", "https://")):
            return _plain_text_sitemap(text, url)
        raise DiscoveryError("not_a_feed", "neither XML nor JSON nor a list of URLs")
    if b"<html" in head or b"<!doctype html" in head:
        raise DiscoveryError("not_a_feed", "an HTML page, not a feed or sitemap")
    return _parse_xml(_drop_doctype(stripped), url)
