"""Many small news sites behind one loopback server, for runs spread over shards.

Each source is a site of its own (``s07.fleet.test``: a feed and its articles), so that
sharding by site has something to split; the server answers for every host as an HTTP
proxy (``http_proxy``), since no DNS knows them. Syndication is modelled too: the first
``shared`` articles of one site are republished by another, under the other's URLs but
with the original's canonical link, so one canonical article is reached through two
sources that may sit in different shards.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

from tests.site.server import Site

__all__ = ["Fleet"]

_TEXT = (
    "Уряд ухвалив рішення про нові правила для місцевих громад після тривалого обговорення.",
    "Депутати підтримали законопроєкт, який змінює порядок розподілу коштів між областями.",
    "Експерти зазначають, що реформа потребуватиме додаткових ресурсів і часу на впровадження.",
)


class Fleet:
    def __init__(
        self, site: Site, sources: int, articles: int, shared: int = 0, pair: tuple[int, int] = (0, 1),
        slow: float = 0.0,
    ):  # fmt: skip
        self.site, self.count, self.articles, self.shared, self.pair = site, sources, articles, shared, pair
        # Seconds each article page takes to answer (the same for every site: handlers go by path).
        self.slow = slow
        for index in range(sources):
            self._publish(index)

    @staticmethod
    def host(index: int) -> str:
        return f"s{index:02d}.fleet.test"

    def name(self, index: int) -> str:
        return f"fleet{index:02d}"

    def article_url(self, index: int, number: int) -> str:
        return f"http://{self.host(index)}/news/{number:04d}.html"

    def canonical(self, index: int, number: int) -> str:
        """Where article ``number`` of site ``index`` says it really lives."""
        original, copy = self.pair
        if index == copy and number < self.shared:
            return self.article_url(original, number)
        return self.article_url(index, number)

    def _page(self, index: int, number: int) -> str:
        title = f"Новина {number} сайту {index}: громади отримають нові повноваження"
        body = "".join(f"<p>{line} ({index}/{number})</p>" for line in _TEXT)
        if self.canonical(index, number) != self.article_url(index, number):
            body = "".join(f"<p>{line} (0/{number})</p>" for line in _TEXT)  # the original's text
            title = f"Новина {number} сайту 0: громади отримають нові повноваження"
        return (
            f"<html lang='uk'><head><title>{title}</title>"
            f"<link rel='canonical' href='{self.canonical(index, number)}'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>"
        )

    def _publish(self, index: int) -> None:
        host = self.host(index)
        for number in range(self.articles):
            if self.slow:
                self.site.handle(f"/news/{number:04d}.html", self._slow_page(self._page(index, number)))
            else:
                self.site.add(f"/news/{number:04d}.html", self._page(index, number), host=host)
        self._feed(index)
        self.site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain", host=host)

    def _feed(self, index: int, built: str = "") -> None:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        items = [
            f"<item><title>{number}</title><link>{escape(self.article_url(index, number))}</link>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=number))}</pubDate></item>"
            for number in range(self.articles)
        ]
        stamp = f"<lastBuildDate>{built}</lastBuildDate>" if built else ""
        channel = f"<title>{self.host(index)}</title>{stamp}{''.join(items)}"
        self.site.add(
            "/rss.xml", f"<rss version='2.0'><channel>{channel}</channel></rss>",
            content_type="application/rss+xml", host=self.host(index),
        )  # fmt: skip

    def rebuild_feeds(self, built: str) -> None:
        """Every feed answers anew (a new lastBuildDate, the same items): its links are read again."""
        for index in range(self.count):
            self._feed(index, built)

    def _slow_page(self, html: str) -> Callable[[BaseHTTPRequestHandler], None]:
        body = html.encode("utf-8")

        def answer(request: BaseHTTPRequestHandler) -> None:
            time.sleep(self.slow)
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

        return answer

    def sources_yaml(self) -> str:
        lines = ["sources:"]
        for index in range(self.count):
            lines += [
                f"  - name: {self.name(index)}",
                "    language: uk",
                f"    feeds: [http://{self.host(index)}/rss.xml]",
            ]
        return "\n".join(lines) + "\n"

    def expected_canonicals(self) -> set[str]:
        return {self.canonical(i, n) for i in range(self.count) for n in range(self.articles)}

    def article_fetches(self) -> Counter[str]:
        """Article page downloads so far, per URL."""
        return Counter(f"http://{hit.host}{hit.path}" for hit in self.site.hits if hit.path.startswith("/news/"))

    def feed_statuses(self) -> list[str]:
        return [hit.host for hit in self.site.hits if hit.path == "/rss.xml"]
