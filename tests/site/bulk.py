"""Large loopback sites for benchmarks: N real corpus pages under distinct URLs.

Pages repeat when N exceeds the pool; each copy loses its canonical link so it
is a distinct article. The server can run in a child process so that serving
does not compete with the crawler for the GIL.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import re
from datetime import UTC, datetime, timedelta

from tests.site.corpus import corpus_dir
from tests.site.server import Site

__all__ = ["BulkSite", "corpus_pool", "serve_bulk_site"]

_CANONICAL = re.compile(rb"<link[^>]+rel=[\"']?canonical[^>]*>|<meta[^>]+property=[\"']og:url[^>]*>", re.IGNORECASE)
# Collections of real article pages with text (section fronts and tiny synthetic pages left out).
_COLLECTIONS = (
    "scrapinghub-aeb",
    "fundus",
    "newspaper4k-article-extraction-dataset",
    "htmldate-mediacloud2020",
    "lenta-ru-data-loader",
)


def corpus_pool(limit: int = 300) -> list[bytes]:
    """Up to ``limit`` article pages from the corpus that hold an article once their
    canonical link is gone, Ukrainian and Russian ones first."""
    from crawler.parsing.article import Article, ExtractionOptions, extract_article

    base = corpus_dir() / "articles"
    rows = [json.loads(line) for line in (base / "INDEX.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["collection"] in _COLLECTIONS]
    rows.sort(key=lambda row: (row["lang_heuristic"] not in ("uk", "ru"), row["file"]))
    pages = []
    for row in rows:
        data = (base / row["file"]).read_bytes()
        page = _CANONICAL.sub(b"", gzip.decompress(data) if row["file"].endswith(".gz") else data)
        if isinstance(extract_article(page, ExtractionOptions(url="https://bulk.example.org/p.html")), Article):
            pages.append(page)
        if len(pages) >= limit:
            break
    return pages


class BulkSite:
    def __init__(self, site: Site, count: int, pool: list[bytes]):
        self.site = site
        self.count = count
        base = datetime(2025, 11, 1, tzinfo=UTC)
        urls = []
        for i in range(count):
            path = f"/p/{i:05d}.html"
            self.site.add(path, pool[i % len(pool)], content_type="text/html")
            urls.append(
                f"<url><loc>{site.url(path)}</loc><lastmod>{(base - timedelta(minutes=i)).isoformat()}</lastmod></url>"
            )
        self.site.add(
            "/sitemap.xml",
            f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{''.join(urls)}</urlset>",
            content_type="application/xml",
        )
        items = "".join(
            f"<item><title>Item {i}</title><link>{site.url(f'/p/{i:05d}.html')}</link></item>" for i in range(count)
        )
        self.site.add(
            "/feed.xml",
            f"<rss version='2.0'><channel><title>bulk</title>{items}</channel></rss>",
            content_type="application/rss+xml",
        )
        self.site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")

    def sources_yaml(self, discovery: str = "sitemap") -> str:
        key = "sitemaps" if discovery == "sitemap" else "feeds"
        path = "/sitemap.xml" if discovery == "sitemap" else "/feed.xml"
        return f"sources:\n  - name: bulk\n    max_articles: {self.count + 10}\n    {key}: [{self.site.url(path)}]\n"


def _serve(count: int, pool_limit: int, pipe: multiprocessing.connection.Connection, port: int) -> None:  # type: ignore[name-defined]
    try:
        site = Site(port=port)
        site.start()
    except OSError:
        # Port 80 needs privileges; any port will do for everything but trafilatura's
        # feed reader, which refuses URLs with an explicit port on an IP host.
        site = Site()
        site.start()
    try:
        bulk = BulkSite(site, count, corpus_pool(pool_limit))
        info = {"sitemap": bulk.sources_yaml("sitemap"), "feed": bulk.sources_yaml("feed"), "base": site.base}
        pipe.send({**info, "feed_url": site.url("/feed.xml")})
        while True:
            command = pipe.recv()
            if command == "hits":
                pipe.send(len(site.requests_for("/p/")))
            elif command == "all_hits":
                pipe.send(len(site.hits))
            elif command == "reset":
                site.reset_hits()
                pipe.send(True)
            else:
                break
    finally:
        site.stop()


def serve_bulk_site(
    count: int, pool_limit: int = 300, port: int = 0
) -> tuple[multiprocessing.Process, multiprocessing.connection.Connection, dict]:  # type: ignore[name-defined]
    """Start a BulkSite in a child process (on ``port``, 0 for any); returns (process, control pipe, info)."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(count, pool_limit, child, port), daemon=True)
    process.start()
    info = parent.recv()
    return process, parent, info
