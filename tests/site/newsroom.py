"""A small live news site for multi-run tests: articles can be edited and added between runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.site.server import Site

PARAGRAPHS = [
    "Уряд України оголосив про нові заходи підтримки економіки після засідання кабінету міністрів у четвер.",
    "За словами прем'єр-міністра, програма охопить малий та середній бізнес у всіх областях країни.",
    "Експерти зазначають, що рішення ухвалили після тривалих консультацій з представниками громадськості.",
    "Міністерство фінансів повідомило, що фінансування буде забезпечено з резервного фонду державного бюджету.",
]


@dataclass
class Story:
    number: int
    edition: int = 1
    updated: datetime = field(default_factory=lambda: datetime(2025, 11, 1, 8, 0, tzinfo=UTC))

    @property
    def path(self) -> str:
        return f"/news/{self.number:04d}.html"

    @property
    def title(self) -> str:
        return f"Новина номер {self.number}: уряд ухвалив рішення"

    def html(self) -> str:
        body = "".join(f"<p>{p} ({self.number})</p>" for p in PARAGRAPHS)
        if self.edition > 1:
            body += f"<p>Оновлено: редакція {self.edition} доповнила матеріал новими подробицями.</p>"
        published = datetime(2025, 10, 1, tzinfo=UTC) + timedelta(hours=self.number)
        return (
            f"<html lang='uk'><head><title>{self.title}</title>"
            f"<meta property='article:published_time' content='{published.isoformat()}'></head>"
            f"<body><article><h1>{self.title}</h1>{body}</article></body></html>"
        )


class Newsroom:
    """Serves ``count`` stories behind an RSS feed, an Atom feed (with <updated>) and a sitemap (with lastmod)."""

    def __init__(self, site: Site, count: int, slow: dict[int, float] | None = None):
        self.site = site
        self.slow = slow or {}
        self.stories: dict[int, Story] = {}
        for number in range(count):
            self.add(number, publish=False)
        self.publish()

    def add(self, number: int, publish: bool = True) -> Story:
        story = Story(number)
        self.stories[number] = story
        self._serve(story)
        if publish:
            self.publish()
        return story

    def stop_stalling(self) -> None:
        """Serve the slow stories at full speed from now on."""
        self.slow.clear()
        for story in self.stories.values():
            self.site.handlers.pop(story.path, None)
            self._serve(story)

    def edit(self, number: int) -> Story:
        story = self.stories[number]
        story.edition += 1
        story.updated = story.updated + timedelta(days=story.edition)
        self._serve(story)
        self.publish()
        return story

    def _serve(self, story: Story) -> None:
        delay = self.slow.get(story.number)
        if delay:
            body = story.html().encode()

            def slow(request, body: bytes = body, delay: float = delay) -> None:
                time.sleep(delay)
                request.send_response(200)
                request.send_header("Content-Type", "text/html; charset=utf-8")
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)

            self.site.handle(story.path, slow)
        else:
            self.site.add(story.path, story.html())

    def publish(self) -> None:
        stories = sorted(self.stories.values(), key=lambda s: s.number, reverse=True)
        half = len(stories) // 2
        rss_items = "".join(
            f"<item><title>{escape(s.title)}</title><link>{self.site.url(s.path)}</link>"
            f"<pubDate>{format_datetime(datetime(2025, 10, 1, tzinfo=UTC) + timedelta(hours=s.number))}</pubDate></item>"
            for s in stories[:half]
        )
        self.site.add(
            "/rss.xml",
            f"<rss version='2.0'><channel><title>t</title>{rss_items}</channel></rss>",
            content_type="application/rss+xml",
        )
        atom_entries = "".join(
            f"<entry><title>{escape(s.title)}</title><link href='{self.site.url(s.path)}'/><updated>{s.updated.isoformat()}</updated></entry>"
            for s in stories[half:]
        )
        self.site.add(
            "/atom.xml",
            f"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{atom_entries}</feed>",
            content_type="application/atom+xml",
        )
        urls = "".join(
            f"<url><loc>{self.site.url(s.path)}</loc><lastmod>{s.updated.isoformat()}</lastmod></url>" for s in stories
        )
        self.site.add(
            "/sitemap.xml",
            f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>",
            content_type="application/xml",
        )
        self.site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")

    def sources_yaml(self) -> str:
        return (
            "sources:\n"
            f"  - name: feeds\n    language: uk\n    feeds: [{self.site.url('/rss.xml')}, {self.site.url('/atom.xml')}]\n"
            f"  - name: sitemap\n    language: uk\n    sitemaps: [{self.site.url('/sitemap.xml')}]\n"
        )

    def article_hits(self) -> int:
        return len(self.site.requests_for("/news/"))
