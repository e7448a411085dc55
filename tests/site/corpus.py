"""Real news pages from ../shared/corpus with their ground truth, and a news site built from them.

The corpus is read in place (never copied into the project). Tests that need
it skip with a clear reason when it is absent.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from tests.site.server import Site

ROOT = Path(__file__).resolve().parents[2]


def corpus_root() -> Path:
    """Where the shared corpus should be (it may be absent)."""
    return Path(os.environ.get("SOURCES_CRAWLER_CORPUS", ROOT.parent / "shared" / "corpus"))


def have_corpus() -> bool:
    return (corpus_root() / "articles" / "INDEX.jsonl").is_file()


SKIP_REASON = f"shared corpus not found at {corpus_root()} (set SOURCES_CRAWLER_CORPUS)"


def corpus_dir() -> Path:
    """The shared corpus. Without it a test (fixture or body) that reads it is skipped with the
    reason, and a benchmark stops with it, instead of failing on a missing file."""
    if not have_corpus():
        if "pytest" in sys.modules:
            import pytest

            pytest.skip(SKIP_REASON)
        raise FileNotFoundError(SKIP_REASON)
    return corpus_root()


@dataclass(frozen=True)
class CorpusPage:
    key: str
    html: bytes
    language: str  # expected language (ground truth or page label)
    title: str | None = None
    published: str | None = None  # YYYY-MM-DD
    body: str | None = None
    origin_url: str = ""


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _fundus(relative: str, language: str) -> CorpusPage:
    base = corpus_dir() / "articles" / "fundus"
    info = json.loads((base / "html_to_version_mapping.json").read_text(encoding="utf-8"))[relative]
    truth = json.loads((base / info["json"]).read_text(encoding="utf-8"))[info["version_key"]]
    body = truth.get("body") or {}
    paragraphs = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        paragraphs += list(section.get("headline") or []) + list(section.get("paragraphs") or [])
    return CorpusPage(
        key=f"fundus-{Path(relative).name.split('.')[0].lower()}",
        html=_read(base / relative),
        language=language,
        title=truth.get("title"),
        published=(truth.get("publishing_date") or "")[:10] or None,
        body="\n".join(paragraphs),
        origin_url=info["url"],
    )


def _lenta(n: int) -> CorpusPage:
    base = corpus_dir() / "articles" / "lenta-ru-data-loader"
    return CorpusPage(
        key=f"lenta-{n}",
        html=_read(base / "soups" / f"soup{n}.html.gz"),
        language="ru",
        body=(base / "article_texts" / f"soup{n}.txt").read_text(encoding="utf-8"),
    )


def _aeb(page_id: str, language: str) -> CorpusPage:
    base = corpus_dir() / "articles" / "scrapinghub-aeb"
    truth = _aeb_truth()[page_id]
    return CorpusPage(
        key=f"aeb-{page_id[:10]}",
        html=_read(base / "html" / f"{page_id}.html.gz"),
        language=language,
        body=truth["articleBody"],
        origin_url=truth["url"],
    )


@cache
def _aeb_truth() -> dict[str, dict[str, str]]:
    return json.loads((corpus_dir() / "articles" / "scrapinghub-aeb" / "ground-truth.json").read_text(encoding="utf-8"))


def _mediacloud(file_id: str, language: str, published: str) -> CorpusPage:
    base = corpus_dir() / "articles" / "htmldate-mediacloud2020" / "test_set"
    return CorpusPage(
        key=f"mc-{file_id}", html=_read(base / f"{file_id}.html.gz"), language=language, published=published
    )


def _newspaper(page_id: str) -> CorpusPage:
    base = corpus_dir() / "articles" / "newspaper4k-article-extraction-dataset"
    truth = json.loads((base / "articles.subset.json").read_text(encoding="utf-8"))[page_id]
    return CorpusPage(
        key=f"n4k-{page_id[:10]}",
        html=_read(base / "html" / f"{page_id}.html.gz"),
        language="en",
        title=truth["title"],
        published=truth["date"][:10],
        body=truth["articleBody"],
        origin_url=truth["url"],
    )


@cache
def news_pages() -> tuple[CorpusPage, ...]:
    """Ukrainian, Russian and other-language pages with ground truth."""
    pages = [
        _fundus("history_c5057b81940d/ua/Pravda_2025_10_24.html.gz", "uk"),
        _fundus("test_data/ua/Pravda_2026_01_08.html.gz", "ru"),
        _fundus("test_data/ru/Kommersant_2025_05_14.html.gz", "ru"),
        _fundus("test_data/de/DW_2024_01_30.html.gz", "de"),
        _fundus("test_data/fr/LeFigaro_2024_11_22.html.gz", "fr"),
        _fundus("test_data/es/ElPais_2024_10_15.html.gz", "es"),
        _mediacloud("1628285861", "uk", "2020-06-07"),
        _mediacloud("1716869064", "uk", "2020-09-21"),
        _mediacloud("1716561772", "ru", "2020-09-20"),
        _mediacloud("1647262025", "ru", "2020-06-28"),
        _mediacloud("1786902045", "ru", "2020-12-03"),
        *(_lenta(n) for n in range(5)),
        _aeb("3c6d3381ef52ca26be2fbde19c1b0fe17d85682b726dfecf5e300c1ca34546b1", "ru"),
        _aeb("c4a3637c6696f238cf9fe1c7fbb17bbb6731a71d4f5fe399b9b4fc3294a96a6b", "ru"),
        _aeb("042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856", "en"),
        _newspaper("05a586a4be326c12c885a616fb8b2d65"),
    ]
    return tuple(pages)


# --- the site -------------------------------------------------------------------


@dataclass
class NewsSite:
    """Where each corpus page is served and through which discovery documents."""

    site: Site
    pages: dict[str, CorpusPage] = field(default_factory=dict)  # path -> page
    feeds: dict[str, list[str]] = field(default_factory=dict)  # discovery URL -> article paths

    def article_urls(self) -> set[str]:
        return {self.site.url(path) for path in self.pages}


def _rss(site: Site, items: list[tuple[str, CorpusPage, datetime]], extra_query: str = "") -> str:
    rows = []
    for path, page, when in items:
        rows.append(
            "<item>"
            f"<title>{escape(page.title or page.key)}</title>"
            f"<link>{escape(site.url(path) + extra_query)}</link>"
            f'<guid isPermaLink="false">{page.key}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<category>{escape(page.language)}-news</category>"
            f"<description>&lt;p&gt;Feed summary of {escape(page.key)}&lt;/p&gt;</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Test news</title>'
        f"<link>{site.base}/</link>{''.join(rows)}</channel></rss>"
    )


def _atom(site: Site, items: list[tuple[str, CorpusPage, datetime]]) -> str:
    rows = []
    for path, page, when in items:
        rows.append(
            "<entry>"
            f"<title>{escape(page.title or page.key)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(path)}"/>'
            f"<id>urn:test:{page.key}</id>"
            f"<updated>{when.isoformat()}</updated><published>{when.isoformat()}</published>"
            f'<category term="atom-{page.language}"/>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{site.base}/"><title>Test atom</title>{"".join(rows)}</feed>'
    )


def _json_feed(site: Site, items: list[tuple[str, CorpusPage, datetime]]) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Test JSON feed",
            "items": [
                {
                    "id": page.key,
                    "url": site.url(path),
                    "title": page.title,
                    "date_published": when.isoformat(),
                    "tags": ["json"],
                }
                for path, page, when in items
            ],
        }
    )


def _sitemap(site: Site, items: list[tuple[str, CorpusPage, datetime]], news: bool) -> str:
    rows = []
    for path, page, when in items:
        extra = ""
        if news:
            extra = (
                "<news:news><news:publication><news:name>Test</news:name><news:language>"
                f"{page.language}</news:language></news:publication>"
                f"<news:publication_date>{when.isoformat()}</news:publication_date>"
                f"<news:title>{escape(page.title or page.key)}</news:title></news:news>"
            )
        rows.append(
            f"<url><loc>{escape(site.url(path))}</loc><lastmod>{when.date().isoformat()}</lastmod>{extra}</url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{"".join(rows)}</urlset>'
    )


def build_news_site(site: Site, pages: tuple[CorpusPage, ...] | None = None) -> NewsSite:
    """Serve every page once under /news/, reachable through RSS, Atom, JSON Feed,
    a sitemap index (a Google News sitemap and a gzipped one) and a listing page,
    with overlaps and tracking parameters so de-duplication is exercised."""
    pages = pages or news_pages()
    news = NewsSite(site)
    base_time = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
    placed = []
    for i, page in enumerate(pages):
        path = f"/news/{i:03d}-{page.key}.html"
        news.pages[path] = page
        site.add(path, page.html, content_type="text/html")
        placed.append((path, page, base_time - timedelta(hours=i)))

    groups = [placed[i::5] for i in range(5)]
    rss_items, atom_items, json_items, sitemap_items, listing_items = groups
    # Overlaps: the first RSS item is also in the news sitemap, with tracking parameters.
    site.add("/feeds/rss.xml", _rss(site, rss_items), content_type="application/rss+xml; charset=utf-8")
    site.add("/feeds/atom.xml", _atom(site, atom_items), content_type="application/atom+xml")
    site.add("/feeds/feed.json", _json_feed(site, json_items), content_type="application/feed+json")
    news_sitemap = sitemap_items[: len(sitemap_items) // 2] + rss_items[:1]
    site.add("/sitemaps/news.xml", _sitemap(site, news_sitemap, news=True), content_type="application/xml")
    site.add(
        "/sitemaps/pages.xml.gz",
        gzip.compress(_sitemap(site, sitemap_items[len(sitemap_items) // 2 :], news=False).encode()),
        content_type="application/x-gzip",
    )
    site.add(
        "/sitemap_index.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        # A live news sitemap: its index says it changed today (one dated before the crawler's
        # watched window would not be read without a backfill's since).
        f"<sitemap><loc>{site.url('/sitemaps/news.xml')}</loc><lastmod>{datetime.now(UTC).date()}</lastmod></sitemap>"
        f"<sitemap><loc>{site.url('/sitemaps/pages.xml.gz')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/sitemap_index.xml')}</loc></sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    links = "".join(
        f'<li><a href="{path}?utm_source=listing&amp;utm_medium=web">{path}</a></li>' for path, _, _ in listing_items
    )
    links += f'<li><a href="{atom_items[0][0]}#comments">dup</a></li>' if atom_items else ""
    site.add(
        "/news/",
        "<html><head><title>News</title></head><body><nav><a href='/about.html'>About</a>"
        "<a href='javascript:void(0)'>menu</a><a href='mailto:desk@example.org'>mail</a>"
        "<a href='/private/secret.html'>secret</a></nav>"
        f"<ul>{links}</ul></body></html>",
    )
    site.add("/private/secret.html", "<html><body><p>must never be fetched</p></body></html>")
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    news.feeds = {
        site.url("/feeds/rss.xml"): [p for p, _, _ in rss_items],
        site.url("/feeds/atom.xml"): [p for p, _, _ in atom_items],
        site.url("/feeds/feed.json"): [p for p, _, _ in json_items],
        site.url("/sitemap_index.xml"): [p for p, _, _ in sitemap_items],
        site.url("/news/"): [p for p, _, _ in listing_items],
    }
    return news


def news_sources_yaml(news: NewsSite, **overrides: object) -> str:
    """A sources file covering the whole test site with three sources."""
    site = news.site
    delay = overrides.get("download_delay", 0)
    return f"""
defaults:
  download_delay: {delay}
  max_articles: 1000
sources:
  - name: feeds
    language: uk
    feeds:
      - {site.url("/feeds/rss.xml")}
      - {site.url("/feeds/atom.xml")}
      - {site.url("/feeds/feed.json")}
  - name: sitemaps
    language: ru
    sitemaps:
      - {site.url("/sitemap_index.xml")}
  - name: listing
    listings:
      - url: {site.url("/news/")}
        follow: '/(news|private)/.+\\.html'
"""


_TOKEN = re.compile(r"\w+")


def token_f1(predicted: str, truth: str) -> float:
    """Token-level F1 of an extracted text against its ground truth (the Zyte benchmark's measure)."""
    p, t = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(truth.lower()))
    overlap = sum((p & t).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(t.values())
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class TextTruth:
    """A corpus page with the text a reader would call its article."""

    collection: str
    key: str
    url: str
    html: bytes
    text: str


def _html_text(html: bytes) -> str:
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(html)
    for node in tree.xpath("//script|//style"):
        node.drop_tree()
    return "\n".join(" ".join(t.split()) for t in tree.itertext() if t.strip())


def text_truth_pages() -> list[TextTruth]:
    """Every corpus page with a whole-text ground truth, in a stable order.

    goose3 is left out: its expected text is often only the article's first
    paragraphs, which would count a complete extraction as wrong."""
    articles = corpus_dir() / "articles"
    pages: list[TextTruth] = []
    for page_id, truth in sorted(_aeb_truth().items()):
        html = _read(articles / "scrapinghub-aeb" / "html" / f"{page_id}.html.gz")
        pages.append(TextTruth("scrapinghub-aeb", page_id, truth["url"], html, truth["articleBody"]))
    mapping = json.loads((articles / "fundus" / "html_to_version_mapping.json").read_text(encoding="utf-8"))
    for relative in sorted(mapping):
        page = _fundus(relative, "")
        if page.body:
            pages.append(TextTruth("fundus", relative, page.origin_url, page.html, page.body))
    base = articles / "newspaper4k-article-extraction-dataset"
    for page_id, truth in sorted(json.loads((base / "articles.subset.json").read_text(encoding="utf-8")).items()):
        path = base / "html" / f"{page_id}.html.gz"
        if path.exists() and truth.get("articleBody"):
            pages.append(TextTruth("newspaper4k-dataset", page_id, truth["url"], _read(path), truth["articleBody"]))
    base = articles / "newspaper4k-tests"
    for txt in sorted((base / "txt").glob("*.txt")):
        path = base / "html" / f"{txt.stem}.html.gz"
        meta = base / "metadata" / f"{txt.stem}.json"
        url = json.loads(meta.read_text(encoding="utf-8")).get("url", "") if meta.exists() else ""
        if path.exists() and txt.read_text(encoding="utf-8").strip():
            pages.append(
                TextTruth(
                    "newspaper4k-tests",
                    txt.stem,
                    url or f"https://example.org/{txt.stem}",
                    _read(path),
                    txt.read_text(encoding="utf-8"),
                )
            )
    base = articles / "mozilla-readability" / "test-pages"
    for case in sorted(p for p in base.iterdir() if p.is_dir()):
        if (case / "expected.html.gz").exists():
            text = _html_text(_read(case / "expected.html.gz"))
            pages.append(
                TextTruth(
                    "mozilla-readability",
                    case.name,
                    f"https://example.org/{case.name}/",
                    _read(case / "source.html.gz"),
                    text,
                )
            )
    for n in range(5):
        page = _lenta(n)
        pages.append(TextTruth("lenta-ru", str(n), f"https://lenta.ru/news/{n}/", page.html, page.body or ""))
    return pages
