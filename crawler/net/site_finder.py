"""Find a site's feeds and sitemaps from its home page and robots.txt (`scrapy sources discover`).

Feed links come from the home page's ``<link rel="alternate">`` elements (RSS,
Atom, JSON Feed types), then from ``<a>`` links that look like feeds, then from
common paths; sitemaps from robots.txt ``Sitemap:`` lines (read with Protego,
Scrapy's robots.txt parser), then from common paths. Every candidate is fetched
and parsed with the crawler's own parser, so only documents the crawler can use
are proposed. (trafilatura's ``determine_feed`` does the first part too, but its
URL check refuses hosts given with a port, such as a site on a test machine.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from courlan import extract_domain
from lxml import html as lxml_html
from protego import Protego

from crawler.parsing.article import Article, ExtractionOptions, extract_article
from crawler.parsing.encoding import decode_html
from crawler.parsing.feeds import DiscoveryError, ParsedDocument, parse_discovery_document
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.language import detect_language
from crawler.parsing.urls import host_of, is_public_http_url_syntax

__all__ = ["Candidate", "FetchError", "SiteDiscovery", "discover_site", "feed_links", "source_entry"]

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "text/xml",
        "application/xml",
    }
)
_FEEDISH = re.compile(r"(?:\b|_)(?:rss|atom|feed)s?\b|\.(?:rss|atom|rdf)$|/feed/?$", re.IGNORECASE)
COMMON_FEED_PATHS = ("/rss.xml", "/feed", "/rss", "/feed.xml", "/atom.xml", "/index.xml", "/rss/all", "/feeds/all.xml")
COMMON_SITEMAP_PATHS = (
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemaps/news.xml",
)
MAX_CANDIDATES = 12
ROBOTS_AGENT = "sources-crawler"


class FetchError(Exception):
    """A page could not be fetched; the message says why, for a person."""


# fetch(url) -> (final URL, status, content type, body); raises FetchError.
Fetch = Callable[[str], tuple[str, int, str, bytes]]


@dataclass
class Candidate:
    url: str
    kind: DiscoveryKind  # a feed or a sitemap
    found_by: str
    usable: bool = False
    detail: str = ""
    document: ParsedDocument | None = None


@dataclass
class SiteDiscovery:
    url: str
    final_url: str = ""
    problem: str | None = None
    feeds: list[Candidate] = field(default_factory=list)
    sitemaps: list[Candidate] = field(default_factory=list)
    language: str | None = None
    language_confidence: float = 0.0
    sample_article: str | None = None

    @property
    def usable_feeds(self) -> list[Candidate]:
        return [c for c in self.feeds if c.usable]

    @property
    def usable_sitemaps(self) -> list[Candidate]:
        return [c for c in self.sitemaps if c.usable]


def feed_links(html: str, base: str) -> list[str]:
    """Feed URLs a home page announces, most trustworthy first."""
    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    links: list[str] = []
    for link in tree.xpath('//link[@href][contains(concat(" ", normalize-space(@rel), " "), " alternate ")]'):
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if kind in FEED_TYPES or _FEEDISH.search(link.get("href", "")):
            links.append(link.get("href", ""))
    if not links:
        links = [a.get("href", "") for a in tree.xpath("//a[@href]") if _FEEDISH.search(a.get("href", ""))]
    absolute = []
    for link in links:
        url = urljoin(base, link.strip())
        if is_public_http_url_syntax(url) is None and url not in absolute:
            absolute.append(url)
    return absolute[:MAX_CANDIDATES]


def _check(candidate: Candidate, fetch: Fetch) -> Candidate:
    try:
        final, status, _, body = fetch(candidate.url)
    except FetchError as exc:
        candidate.detail = str(exc)
        return candidate
    if status >= 400:
        candidate.detail = f"HTTP {status}"
        return candidate
    try:
        document = parse_discovery_document(body, final)
    except DiscoveryError as exc:
        candidate.detail = str(exc)
        return candidate
    if document.kind.via is not candidate.kind:
        candidate.detail = f"a {document.kind}, not a {candidate.kind}"
        return candidate
    count = len(document.entries) + len(document.sitemaps)
    if not count:
        candidate.detail = f"{document.kind} with no usable links"
        return candidate
    candidate.usable = True
    candidate.document = document
    what = f"{len(document.sitemaps)} sitemaps" if document.kind == "sitemapindex" else f"{len(document.entries)} links"
    candidate.detail = f"HTTP {status}, {document.kind}, {what}"
    return candidate


def discover_site(url: str, fetch: Fetch) -> SiteDiscovery:
    result = SiteDiscovery(url)
    try:
        final, status, _, body = fetch(url)
    except FetchError as exc:
        result.problem = f"cannot fetch {url}: {exc}"
        return result
    # A home page behind a bot wall (403) or missing (404) says nothing about /rss.xml or
    # robots.txt: look there all the same.
    home_status = status
    home_failed = status >= 400
    result.final_url = final
    page = "" if home_failed else body.decode("utf-8", errors="replace")
    root = f"{urlsplit(final).scheme}://{urlsplit(final).netloc}"

    announced = feed_links(page, final)
    candidates = [Candidate(link, DiscoveryKind.FEED, "home page link") for link in announced]
    seen = set(announced)
    for path in COMMON_FEED_PATHS:
        link = root + path
        if link not in seen:
            candidates.append(Candidate(link, DiscoveryKind.FEED, "common path"))
            seen.add(link)
    for candidate in candidates:
        _check(candidate, fetch)
        result.feeds.append(candidate)
        # Common paths are only tried until something works.
        if candidate.found_by == "common path" and result.usable_feeds:
            break

    robots: Protego | None = None
    try:
        _, status, _, robots_body = fetch(root + "/robots.txt")
        if status < 400:
            robots = Protego.parse(robots_body.decode("utf-8", errors="replace"))
    except FetchError:
        pass
    robots_sitemaps = list(robots.sitemaps) if robots else []
    sitemap_candidates = [
        Candidate(link, DiscoveryKind.SITEMAP, "robots.txt") for link in dict.fromkeys(robots_sitemaps)
    ][:MAX_CANDIDATES]
    if not sitemap_candidates:
        sitemap_candidates = [
            Candidate(root + path, DiscoveryKind.SITEMAP, "common path") for path in COMMON_SITEMAP_PATHS
        ]
    for candidate in sitemap_candidates:
        _check(candidate, fetch)
        result.sitemaps.append(candidate)
        if candidate.found_by == "common path" and result.usable_sitemaps:
            break

    _guess_language(result, page, fetch, robots)
    if home_failed and not (result.usable_feeds or result.usable_sitemaps):
        result.problem = f"{url} answered HTTP {home_status}, and no feed or sitemap was found at the usual places"
    return result


def _guess_language(result: SiteDiscovery, page: str, fetch: Fetch, robots: Protego | None) -> None:
    """The language of one extracted article; titles alone are too short to tell uk from ru."""
    documents = [c.document for c in result.usable_feeds + result.usable_sitemaps if c.document is not None]
    entries = [entry for document in documents for entry in document.entries]
    lang_attr = _html_lang(page)
    allowed = [e for e in entries if robots is None or robots.can_fetch(e.url, ROBOTS_AGENT)]
    for entry in allowed[:2]:
        try:
            final, status, content_type, body = fetch(entry.url)
        except FetchError:
            continue
        if status >= 400:
            continue
        html, _ = decode_html(body, content_type)
        article = extract_article(html, ExtractionOptions(url=final, language_hint=lang_attr, entry=entry))
        if isinstance(article, Article):
            result.language, result.language_confidence = article.language, article.language_confidence
            result.sample_article = final
            return
    titles = [entry.title for entry in entries if entry.title]
    sample = "\n".join(titles[:40]) or _page_text(page)
    if sample:
        detected = detect_language(sample, hint=lang_attr)
        result.language, result.language_confidence = detected.language, detected.confidence


def _html_lang(page: str) -> str | None:
    match = re.search(r"<html[^>]*\slang=[\"']?([A-Za-z]{2,3})", page[:5000], re.IGNORECASE)
    return match.group(1).lower() if match else None


def _page_text(page: str) -> str:
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    for bad in tree.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    return " ".join(tree.text_content().split())[:3000]


def suggested_name(url: str, taken: Iterable[str] = ()) -> str:
    """A source name from the site: the registrable domain's name (``news.example.ua`` →
    ``example``), an IP address and port as they are; made unique among ``taken``."""
    parts = urlsplit(url)
    host = host_of(url).removeprefix("www.")
    if host.replace(".", "").isdigit() or ":" in host:
        label = f"site-{host}" + (f"-{parts.port}" if parts.port else "")
    else:
        domain = extract_domain(url) or host
        label = domain.split(".")[0] if "." in domain else domain
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-")[:60] or "site"
    taken = set(taken)
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


def source_entry(result: SiteDiscovery, taken: Iterable[str] = ()) -> str:
    """A ready-to-paste entry for config/sources.yaml, named so as not to clash with ``taken``."""
    lines = [f"  - name: {suggested_name(result.final_url or result.url, taken)}"]
    if result.language and result.language != "und":
        lines.append(f"    language: {result.language}")
    feeds = [c.url for c in result.usable_feeds][:3]
    sitemaps = [c.url for c in result.usable_sitemaps][:2]
    if feeds:
        lines.append("    feeds:")
        lines += [f"      - {url}" for url in feeds]
    if sitemaps:
        lines.append("    sitemaps:")
        lines += [f"      - {url}" for url in sitemaps]
    if not feeds and not sitemaps:
        lines.append("    listings:")
        lines.append(f"      - url: {result.final_url or result.url}")
        lines.append("        follow: '/news/.+'   # adjust: a regex that article links match")
    host = host_of(result.final_url or result.url).removeprefix("www.")
    lines.append(f"    allowed_domains: [{host}]")
    return "\n".join(lines) + "\n"
