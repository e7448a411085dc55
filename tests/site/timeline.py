"""A news site that changes between runs, in the shapes real outlets publish in.

The test advances the site's clock between crawls; at each tick every shape
publishes, edits, removes or moves articles the way outlets do, and records
what it did as ground truth: which article must come out in which run, with
which revision. Article bodies are real news texts from the shared corpus
(Ukrainian and Russian, read in place); the pages around them follow the
markup of news templates (navigation, "read also" blocks, footers).

Shapes, one source each:
  a  a byte-stable sitemap index over a rolling Google News sitemap and an archive sitemap
  b  daily sitemaps added to an index
  c  an RSS feed whose window of the newest items slides past articles, a sitemap behind it
  d  Atom whose <updated> moves on edits
  e  feed links with tracking parameters that change every run
  f  articles removed (404) after publication, and one listed before its page is live
  g  articles whose URL moves by a 301 redirect
  h  a paginated listing page
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import cache
from html import escape as html_escape
from xml.sax.saxutils import escape

from tests.site.corpus import corpus_dir
from tests.site.server import Site

__all__ = ["SHAPES", "Story", "Timeline", "corpus_texts"]

KYIV = timezone(timedelta(hours=2))
TRACKING = ("utm_", "_ga", "_gl", "fbclid", "ysclid", "gclid")
STORY_PATH = re.compile(r"/(?P<shape>[a-z])/news/(?P<number>\d{4})")


@cache
def corpus_texts() -> tuple[tuple[str, list[str]], ...]:
    """(language, paragraphs) of real news texts: Ukrainian (lang-uk NER) and Russian (factRuEval)."""
    texts: list[tuple[str, list[str]]] = []
    files = (("uk", "ner-uk-ng-texts.uk.jsonl"), ("ru", "factRuEval-2016-texts.ru.jsonl"))
    by_language = {}
    for language, name in files:
        rows = []
        for line in (corpus_dir() / "langid" / name).read_text(encoding="utf-8").splitlines():
            paragraphs = [p.strip() for p in json.loads(line)["text"].split("\n") if len(p.strip()) > 40]
            if sum(map(len, paragraphs)) >= 600 and len(paragraphs) >= 3:
                rows.append((language, paragraphs[:12]))
        by_language[language] = rows
    for uk, ru in zip(by_language["uk"], by_language["ru"], strict=False):
        texts += [uk, ru]
    return tuple(texts)


@dataclass
class Story:
    shape: str
    number: int
    language: str
    paragraphs: list[str]
    published: datetime
    updated: datetime
    revision: int = 1
    slug: str = "story"
    removed: bool = False
    live: bool = True
    moved: bool = False
    title_prefix: str = ""

    @property
    def path(self) -> str:
        suffix = "-moved" if self.moved else ""
        return f"/{self.shape}/news/{self.number:04d}-{self.slug}{suffix}.html"

    @property
    def old_path(self) -> str:
        return f"/{self.shape}/news/{self.number:04d}-{self.slug}.html"

    @property
    def title(self) -> str:
        first = self.paragraphs[0].split(". ")[0]
        return (self.title_prefix + first)[:110].rstrip(" ,.;:")

    def html(self, site: Site, brand: str, canonical: str | None, og_url: str | None = None) -> str:
        lang = self.language
        nav = "".join(
            f'<li><a href="/{self.shape}/section/{n}/">{w}</a></li>'
            for n, w in enumerate(("Головна", "Новини", "Політика", "Економіка", "Світ", "Спорт"))
        )
        head = [f"<title>{html_escape(self.title)} | {brand}</title>", '<meta charset="utf-8">']
        if canonical:
            head.append(f'<link rel="canonical" href="{html_escape(canonical)}">')
        if og_url:
            head.append(f'<meta property="og:url" content="{html_escape(og_url)}">')
        head.append(f'<meta property="article:published_time" content="{self.published.isoformat()}">')
        head.append(f'<meta property="article:modified_time" content="{self.updated.isoformat()}">')
        body = "".join(f"<p>{html_escape(p)}</p>" for p in self.paragraphs)
        return (
            f'<!doctype html><html lang="{lang}"><head>{"".join(head)}</head><body>'
            f'<header class="site-header"><a class="logo" href="/">{brand}</a><nav><ul>{nav}</ul></nav></header>'
            f'<main><article class="post"><h1 class="post__title">{html_escape(self.title)}</h1>'
            f'<time class="post__date" datetime="{self.published.isoformat()}">'
            f"{self.published:%d.%m.%Y %H:%M}</time>"
            f'<div class="post__body">{body}</div>'
            f'<div class="read-also">Читайте також: <a href="/{self.shape}/news/">усі новини</a></div>'
            f'</article><aside class="popular"><h3>Популярне</h3><ul><li><a href="/{self.shape}/news/">Новини дня</a>'
            f"</li></ul></aside></main>"
            f'<footer class="site-footer">© 2026 {brand}. Усі права захищені. '
            f'<a href="/about">Про нас</a> <a href="/contacts">Контакти</a></footer></body></html>'
        )


@dataclass
class Event:
    """Ground truth: in crawl ``run`` the story must come out with ``revision`` (kind publish/edit),
    or must not come out again (remove, move). ``within``: it may come out that many runs later
    (a page that failed comes out by the run after its failure clears). ``fetches``: downloads
    of its page the event justifies in that run (Scrapy retries a failing page twice).
    Kind ``backfill``: an article of a source's archive, which must come out exactly once, in
    whichever run its backfill reaches it."""

    run: int
    shape: str
    number: int
    kind: str
    revision: int = 1
    within: int = 0
    fetches: int = 1


@dataclass
class Shape:
    """One source of the timeline; subclasses publish in one real-world shape."""

    timeline: Timeline
    key: str = "?"
    name: str = "?"
    brand: str = "Новини"
    stories: list[Story] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(f"timeline-{self.key}")

    @property
    def site(self) -> Site:
        return self.timeline.site

    def url(self, path: str) -> str:
        return self.site.url(path)

    def publish(self, count: int, live: bool = True, events: bool = True) -> list[Story]:
        made = []
        for _ in range(count):
            language, paragraphs = self.timeline.next_text()
            number = len(self.stories)
            moment = self.timeline.now - timedelta(minutes=self.random.randint(0, 300))
            story = Story(self.key, number, language, list(paragraphs), moment, moment, slug=f"{language}-story")
            story.live = live
            self.stories.append(story)
            made.append(story)
            if live and events:
                self.timeline.event(self.key, number, "publish")
        return made

    def edit(self, story: Story, title_too: bool = False) -> None:
        story.revision += 1
        story.updated = self.timeline.now
        story.paragraphs = [*story.paragraphs, f"Оновлено: {self.timeline.edit_text()}"]
        if title_too:
            story.title_prefix = "Оновлено. "
        self.timeline.event(self.key, story.number, "edit", story.revision)

    def live_stories(self) -> list[Story]:
        return [s for s in self.stories if s.live and not s.removed]

    def newest(self, count: int) -> list[Story]:
        return sorted(self.live_stories(), key=lambda s: s.published, reverse=True)[:count]

    def canonical(self, story: Story) -> str | None:
        return self.url(story.path)

    def serve_stories(self) -> None:
        for story in self.stories:
            if story.removed or not story.live:
                self.site.routes.pop(story.path, None)
                continue
            if story.moved:
                self.site.add(story.old_path, b"", status=301, headers={"Location": self.url(story.path)})
            self.site.add(story.path, story.html(self.site, self.brand, self.canonical(story)))

    def tick(self, run: int) -> None:
        raise NotImplementedError

    def documents(self) -> dict[str, tuple[str, str]]:
        raise NotImplementedError

    def yaml(self) -> str:
        raise NotImplementedError


def _sitemap(urls: list[tuple[str, datetime | None]], news: list[Story] | None = None, site: Site | None = None) -> str:
    entries = []
    for loc, lastmod in urls:
        stamp = f"<lastmod>{lastmod.astimezone(KYIV).isoformat()}</lastmod>" if lastmod else ""
        entries.append(f"<url><loc>{escape(loc)}</loc>{stamp}</url>")
    for story in news or []:
        assert site is not None
        entries.append(
            f"<url><loc>{escape(site.url(story.path))}</loc>"
            f"<lastmod>{story.updated.astimezone(KYIV).isoformat()}</lastmod>"
            "<news:news><news:publication><news:name>Новини</news:name>"
            f"<news:language>{story.language}</news:language></news:publication>"
            f"<news:publication_date>{story.published.astimezone(KYIV).isoformat()}</news:publication_date>"
            f"<news:title>{escape(story.title)}</news:title></news:news></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(entries) + "</urlset>"
    )


def _index(children: list[tuple[str, datetime | None]]) -> str:
    entries = "".join(
        f"<sitemap><loc>{escape(loc)}</loc>"
        + (f"<lastmod>{lastmod.astimezone(KYIV).isoformat()}</lastmod>" if lastmod else "")
        + "</sitemap>"
        for loc, lastmod in children
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    )


def _rss(site: Site, stories: list[Story], link: Callable[[Story], str] | None = None) -> str:
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{escape(link(s) if link else site.url(s.path))}</link>"
        f"<guid isPermaLink='false'>{s.shape}-{s.number}</guid>"
        f"<pubDate>{format_datetime(s.published.astimezone(UTC))}</pubDate>"
        f"<description>{escape(s.paragraphs[0][:200])}</description></item>"
        for s in stories
    )
    return f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Новини</title>{items}</channel></rss>"


class StableIndex(Shape):
    """(a) The index never changes (same bytes, same ETag: a 304 every time); the rolling
    Google News sitemap and the archive it lists do."""

    def tick(self, run: int) -> None:
        self.publish(4 if run == 0 else 2)
        if run and run % 3 == 0:
            archived = [s for s in self.live_stories() if self.timeline.now - s.published > timedelta(hours=48)]
            if archived:
                self.edit(self.random.choice(archived))
        if run and run % 4 == 1:
            self.edit(self.newest(3)[-1], title_too=True)

    def documents(self) -> dict[str, tuple[str, str]]:
        recent = [s for s in self.live_stories() if self.timeline.now - s.published <= timedelta(hours=48)]
        older = [s for s in self.live_stories() if s not in recent]
        return {
            "/a/sitemap-index.xml": (
                _index([(self.url("/a/sitemap-news.xml"), None), (self.url("/a/sitemap-archive.xml"), None)]),
                "application/xml",
            ),
            "/a/sitemap-news.xml": (_sitemap([], recent, self.site), "application/xml"),
            "/a/sitemap-archive.xml": (
                _sitemap([(self.url(s.path), s.updated) for s in older]),
                "application/xml",
            ),
        }

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    sitemaps: [{self.url('/a/sitemap-index.xml')}]\n"


class DailySitemaps(Shape):
    """(b) One sitemap per day, added to the index as days pass; the index's lastmod moves."""

    def tick(self, run: int) -> None:
        self.publish(3)
        if run and run % 4 == 2:
            old = [s for s in self.live_stories() if (self.timeline.now - s.published).days >= 1]
            if old:
                self.edit(old[0])

    def _days(self) -> dict[str, list[Story]]:
        days: dict[str, list[Story]] = {}
        for story in self.live_stories():
            days.setdefault(story.published.astimezone(KYIV).date().isoformat(), []).append(story)
        return days

    def documents(self) -> dict[str, tuple[str, str]]:
        days = self._days()
        docs = {
            "/b/sitemap.xml": (
                _index(
                    [
                        (self.url(f"/b/sitemaps/{day}.xml"), max(s.updated for s in stories))
                        for day, stories in sorted(days.items(), reverse=True)
                    ]
                ),
                "application/xml",
            )
        }
        for day, stories in days.items():
            docs[f"/b/sitemaps/{day}.xml"] = (
                _sitemap([(self.url(s.path), s.updated) for s in stories]),
                "application/xml",
            )
        return docs

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    sitemaps: [{self.url('/b/sitemap.xml')}]\n"


class SlidingFeed(Shape):
    """(c) The feed shows the 5 newest; busy periods push articles out of it before the next
    run, and only the sitemap still lists them."""

    WINDOW = 5

    def tick(self, run: int) -> None:
        self.publish(self.random.choice((2, 3, 7, 9)) if run else 6)

    def documents(self) -> dict[str, tuple[str, str]]:
        return {
            "/c/rss.xml": (_rss(self.site, self.newest(self.WINDOW)), "application/rss+xml"),
            "/c/sitemap.xml": (
                _sitemap([(self.url(s.path), s.updated) for s in self.live_stories()]),
                "application/xml",
            ),
        }

    def yaml(self) -> str:
        return (
            f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/c/rss.xml')}]\n"
            f"    sitemaps: [{self.url('/c/sitemap.xml')}]\n"
        )


class AtomEdits(Shape):
    """(d) Atom with <published> and <updated>; an edit moves <updated> (and the entry to the top)."""

    def tick(self, run: int) -> None:
        self.publish(2)
        if run:
            window = self.newest(12)[2:]
            for story in self.random.sample(window, min(len(window), self.random.choice((1, 2)))):
                self.edit(story, title_too=story.number % 3 == 0)

    def documents(self) -> dict[str, tuple[str, str]]:
        newest = sorted(self.newest(12), key=lambda s: s.updated, reverse=True)
        entries = "".join(
            f"<entry><title>{escape(s.title)}</title><link rel='alternate' href='{escape(self.url(s.path))}'/>"
            f"<id>tag:d,{s.number}</id><published>{s.published.isoformat()}</published>"
            f"<updated>{s.updated.isoformat()}</updated><summary>{escape(s.paragraphs[0][:200])}</summary></entry>"
            for s in newest
        )
        atom = f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Новини</title>{entries}</feed>"
        return {"/d/atom.xml": (atom, "application/atom+xml")}

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/d/atom.xml')}]\n"


class TrackingLinks(Shape):
    """(e) Feed links carry tracking parameters whose values change every run; some pages
    declare no canonical URL, some an og:url that carries tracking parameters too."""

    def tick(self, run: int) -> None:
        self.run = run
        self.publish(3)

    def _tracked(self, story: Story) -> str:
        r = self.random.randint(10**6, 10**7)
        query = (
            f"utm_source=rss&utm_medium=feed&utm_campaign=run{self.run}&_ga=2.{r}.{r + 1}&_gl=1*{r:x}*_ga*MTI"
            f"&fbclid=IwAR{r:x}&ysclid=l{r:x}"
        )
        return f"{self.url(story.path)}?{query}"

    def canonical(self, story: Story) -> str | None:
        return None if story.number % 2 else self.url(story.path)

    def serve_stories(self) -> None:
        for story in self.stories:
            og = f"{self.url(story.path)}?utm_source=facebook&utm_medium=social" if story.number % 4 == 1 else None
            self.site.add(story.path, story.html(self.site, self.brand, self.canonical(story), og))

    def documents(self) -> dict[str, tuple[str, str]]:
        newest = self.newest(10)
        # The same article twice, under two tracking variants (a "top" block and the list).
        return {"/e/rss.xml": (_rss(self.site, [*newest[:1], *newest], link=self._tracked), "application/rss+xml")}

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/e/rss.xml')}]\n"


class Removed(Shape):
    """(f) Articles taken down after publication (404, gone from feed and sitemap; once still in
    the sitemap with a new lastmod), and one listed in the feed before its page is live."""

    def tick(self, run: int) -> None:
        self.publish(2)
        if run == 3:
            self.newest(4)[-1].removed = True
            self.timeline.event(self.key, self.newest(4)[-1].number, "remove")
        if run == 5:
            self.early = self.publish(1, live=False)[0]
            self.timeline.event(self.key, self.early.number, "listed")
        if run == 6:
            self.early.live = True
            self.timeline.event(self.key, self.early.number, "publish")
        if run == 7:
            gone = self.newest(6)[-1]
            gone.removed = True
            gone.updated = self.timeline.now
            self.announced_gone = gone
            self.timeline.event(self.key, gone.number, "remove")

    def documents(self) -> dict[str, tuple[str, str]]:
        listed = [s for s in self.stories if not s.removed]  # the early one is listed before it is live
        in_sitemap = [s for s in self.live_stories()]
        gone = getattr(self, "announced_gone", None)
        if gone is not None and self.timeline.run == 7:
            in_sitemap.append(gone)
        newest = sorted(listed, key=lambda s: s.published, reverse=True)[:10]
        return {
            "/f/rss.xml": (_rss(self.site, newest), "application/rss+xml"),
            "/f/sitemap.xml": (_sitemap([(self.url(s.path), s.updated) for s in in_sitemap]), "application/xml"),
        }

    def yaml(self) -> str:
        return (
            f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/f/rss.xml')}]\n"
            f"    sitemaps: [{self.url('/f/sitemap.xml')}]\n"
        )


class Moved(Shape):
    """(g) An article's URL moves: the old one answers 301 to the new one. Once the feed lists
    the new URL (same date); once it keeps listing the old one."""

    def tick(self, run: int) -> None:
        self.publish(2)
        self.keep_old = getattr(self, "keep_old", set())
        if run in (4, 6, 8):
            story = self.newest(5)[-1]
            story.moved = True
            if run == 6:
                self.keep_old.add(story.number)
            self.timeline.event(self.key, story.number, "move")

    def _link(self, story: Story) -> str:
        return self.url(story.old_path if story.number in self.keep_old else story.path)

    def documents(self) -> dict[str, tuple[str, str]]:
        return {"/g/rss.xml": (_rss(self.site, self.newest(10), link=self._link), "application/rss+xml")}

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/g/rss.xml')}]\n"


class Paginated(Shape):
    """(h) A listing of the 8 newest per page, with rel="next" and a "Наступна" link;
    busy periods push articles onto page 2 or 3 before the next run."""

    PER_PAGE = 8

    def tick(self, run: int) -> None:
        self.publish(self.random.choice((2, 4, 11, 14, 19)) if run else 10)

    def documents(self) -> dict[str, tuple[str, str]]:
        stories = self.newest(10_000)
        pages = max(1, -(-len(stories) // self.PER_PAGE))
        docs = {}
        for page in range(1, pages + 1):
            chunk = stories[(page - 1) * self.PER_PAGE : page * self.PER_PAGE]
            items = "".join(
                f'<li class="news-item"><a href="{s.path}">{html_escape(s.title)}</a>'
                f' <span class="date">{s.published:%H:%M}</span></li>'
                for s in chunk
            )
            nav = ""
            head = ""
            if page < pages:
                head = f'<link rel="next" href="/h/news/?page={page + 1}">'
                nav = f'<div class="pagination"><a class="pagination__next" href="/h/news/?page={page + 1}">Наступна</a></div>'
            path = "/h/news/" if page == 1 else f"/h/news/?page={page}"
            docs[path] = (
                f'<!doctype html><html lang="uk"><head><title>Новини</title>{head}</head><body>'
                '<nav><a href="/h/news/">Новини</a> <a href="/h/about/">Про нас</a></nav>'
                f'<ul class="news-list">{items}</ul>{nav}</body></html>',
                "text/html; charset=utf-8",
            )
        return docs

    def yaml(self) -> str:
        return (
            f"  - name: {self.name}\n    language: uk\n    listings:\n"
            f"      - url: {self.url('/h/news/')}\n        follow: '/h/news/\\d{{4}}-[a-z]{{2}}-story(-moved)?\\.html$'\n"
        )


SHAPES: dict[str, tuple[str, type[Shape]]] = {
    "a": ("a-stable-index", StableIndex),
    "b": ("b-daily-sitemaps", DailySitemaps),
    "c": ("c-sliding-feed", SlidingFeed),
    "d": ("d-atom-edits", AtomEdits),
    "e": ("e-tracking-links", TrackingLinks),
    "f": ("f-removed", Removed),
    "g": ("g-moved", Moved),
    "h": ("h-paginated-listing", Paginated),
}


class Timeline:
    """The site's clock and its shapes; ``tick()`` before each crawl, the ground truth in ``events``."""

    START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)

    def __init__(self, site: Site, shapes: str = "abcdefgh", start: datetime | None = None, hours: float = 8):
        self.site = site
        self.now = start or self.START
        self.step = timedelta(hours=hours)
        self.run = -1
        self.events: list[Event] = []
        self._used = 0
        self._edits = 0
        self.shapes = [cls(self, key=key, name=name) for key, (name, cls) in SHAPES.items() if key in shapes]

    def next_text(self) -> tuple[str, list[str]]:
        """A real text; once the pool is used up, texts come round again with a sentence of
        their own (a source recognises an article that moved by its identical text)."""
        self._used += 1
        texts = corpus_texts()
        language, paragraphs = texts[(self._used - 1) % len(texts)]
        if self._used > len(texts):
            paragraphs = [*paragraphs, f"Матеріал підготувала редакція, випуск {self._used}."]
        return language, paragraphs

    def edit_text(self) -> str:
        """A real sentence to add to an article (edits do not use up the pool of texts)."""
        texts = corpus_texts()
        self._edits += 1
        return texts[-self._edits % len(texts)][1][-1]

    def event(self, shape: str, number: int, kind: str, revision: int = 1, run: int | None = None, **more: int) -> None:
        self.events.append(Event(self.run if run is None else run, shape, number, kind, revision, **more))

    def tick(self) -> None:
        """Move the clock on (except before the first crawl) and let every shape publish."""
        self.run += 1
        if self.run:
            self.now += self.step
        for shape in self.shapes:
            shape.tick(self.run)
            shape.serve_stories()
            for path, (body, content_type) in shape.documents().items():
                current = self.site.routes.get(path)
                if current is None or current.body != body.encode("utf-8"):
                    # Unchanged documents keep their route, and with it ETag and Last-Modified.
                    self.site.add(path, body, content_type=content_type)
        self.site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")

    def sources_yaml(self) -> str:
        return "sources:\n" + "".join(shape.yaml() for shape in self.shapes)


# The shapes of what the simulated weeks did not model before (tests/site/resilience.py):
# imported last, as they build on the classes above.
from tests.site.resilience import MORE_SHAPES  # noqa: E402

SHAPES.update(MORE_SHAPES)
