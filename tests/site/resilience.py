"""Shapes the first simulated weeks did not model: bad moments, big archives and backfills.

  i  an RSS feed of only its newest items and no sitemap, whose pages fail (503 on every
     attempt, a stall past the download timeout, a reset connection) in the one run that
     lists them, for one or two runs; and a slow page that is merely slow
  j  RIA's archive index: one sitemap per day (``sitemap_article.xml?date_start=…&date_end=…``),
     1,000 days of history, no lastmod; a few new articles a run go into today's sitemap
  k  the same with a lastmod for every child
  l  a source added with ``since`` 60 days back, its archive one sitemap per day named by a
     date template (2 articles a day); max_articles 40, so the backfill takes several runs
  m  the same over a paginated archive listing (10 a page, dated article URLs, 1 a day);
     max_articles 25

Ground truth: new articles must come out in the run they appear (a failing one by the run
after its failure clears); the history of an index dated before the window the crawler
watches (DISCOVERY_WINDOW_DAYS, 3) must not be fetched at all; a backfill's archive must come
out exactly once, in whichever run reaches it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import ClassVar
from xml.sax.saxutils import escape

from tests.site.server import answer_slowly, reset_connection, unavailable
from tests.site.timeline import KYIV, Shape, Story, _index, _rss, _sitemap

__all__ = ["MORE_SHAPES"]

# Set for the simulation of these shapes (tests/test_capture_resilience.py): a page stalling
# longer than this times out.
DOWNLOAD_TIMEOUT = 2.0
WATCHED_DAYS = 3  # DISCOVERY_WINDOW_DAYS


class FailingFeed(Shape):
    """(i) The feed lists only the 4 newest and 4 are published a run: a page that fails in the
    run that lists it is in no feed by the next one."""

    WINDOW = 4
    # By story number: a fault in the run that lists the page, for one run (even numbers) or two.
    # A timeout holds the crawl DOWNLOAD_TIMEOUT per attempt, so there is one of them.
    FAULTS: ClassVar[dict[int, str]] = {2: "503", 5: "reset", 7: "slow", 10: "timeout", 12: "503", 15: "reset", 18: "503",
              21: "503", 24: "503", 27: "reset", 30: "503", 33: "reset", 36: "503"}  # fmt: skip
    # Downloads a failing run justifies: Scrapy's three attempts, and for a reset connection
    # the HTTP client's own retry of a dropped persistent connection on each.
    FETCHES: ClassVar[dict[str, int]] = {"503": 3, "timeout": 3, "reset": 6}

    def tick(self, run: int) -> None:
        self.faults = getattr(self, "faults", {})
        for story in self.publish(self.WINDOW, events=False):
            fault = self.FAULTS.get(story.number)
            if fault in (None, "slow"):
                self.timeline.event(self.key, story.number, "publish")
                if fault == "slow":
                    self.faults[story.number] = ("slow", 10_000)
                continue
            clears = run + 1 + story.number % 2  # one or two runs of failure
            self.faults[story.number] = (fault, clears)
            for failing in range(run, clears):
                self.timeline.event(self.key, story.number, "failing", run=failing, fetches=self.FETCHES[fault])
            self.timeline.event(self.key, story.number, "publish", run=clears, within=1)

    def serve_stories(self) -> None:
        super().serve_stories()
        for story in self.stories:
            fault, clears = self.faults.get(story.number, (None, 0))
            self.site.handlers.pop(story.path, None)
            if fault == "slow":
                body = story.html(self.site, self.brand, self.canonical(story)).encode()
                self.site.handle(story.path, answer_slowly(body, DOWNLOAD_TIMEOUT / 3))
            elif fault is not None and self.timeline.run < clears:
                stall = answer_slowly(b"", DOWNLOAD_TIMEOUT + 1.5, status=503)
                self.site.handle(story.path, {"503": unavailable, "reset": reset_connection, "timeout": stall}[fault])

    def documents(self) -> dict[str, tuple[str, str]]:
        # The latest feed lists the last four published, in the order they were published (their
        # dates are backdated at random by the timeline, so "the newest by date" would not be them).
        latest = sorted(self.live_stories(), key=lambda story: story.number)[-self.WINDOW :]
        return {"/i/rss.xml": (_rss(self.site, latest[::-1]), "application/rss+xml")}

    def yaml(self) -> str:
        return f"  - name: {self.name}\n    language: uk\n    feeds: [{self.url('/i/rss.xml')}]\n"


class ArchiveIndex(Shape):
    """(j) An index of one sitemap per day, 1,000 days back, without lastmod."""

    DAYS = 1000
    PER_DAY = 2
    LASTMOD = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.history: dict[str, list[tuple[str, datetime]]] = {}  # day -> (path, time) not served

    def _child(self, day: str) -> str:
        compact = day.replace("-", "")
        return f"/{self.key}/sitemap_article.xml?date_start={compact}&date_end={compact}"

    def _seed(self) -> None:
        """The archive as it stands when the source is added: days inside the watched window
        hold real articles the first run must deliver; older days hold pages nobody serves."""
        today = self.timeline.now.astimezone(KYIV).date()
        # A day's sitemap is watched while the day ended less than DISCOVERY_WINDOW_DAYS ago (UTC).
        watched_from = (self.timeline.now - timedelta(days=WATCHED_DAYS)).date()
        for back in range(1, self.DAYS):
            day = today - timedelta(days=back)
            moment = datetime.combine(day, time(12), tzinfo=KYIV)
            if day >= watched_from:
                for _ in range(self.PER_DAY):
                    story = self.publish(1, events=False)[0]
                    story.published = story.updated = moment
                    story.slug = f"{day:%Y%m%d}-{story.language}"
                    self.timeline.event(self.key, story.number, "publish")
            else:
                self.history[day.isoformat()] = [
                    (f"/{self.key}/news/{9000 - back % 1000:04d}-{day:%Y%m%d}-{n}.html", moment)
                    for n in range(self.PER_DAY)
                ]

    def tick(self, run: int) -> None:
        if run == 0:
            self._seed()
        for story in self.publish(self.PER_DAY):
            story.slug = f"{story.published.astimezone(KYIV):%Y%m%d}-{story.language}"

    def documents(self) -> dict[str, tuple[str, str]]:
        days: dict[str, list[tuple[str, datetime]]] = {day: list(items) for day, items in self.history.items()}
        for story in self.live_stories():
            days.setdefault(story.published.astimezone(KYIV).date().isoformat(), []).append((story.path, story.updated))
        docs = {}
        children = []
        for day, items in sorted(days.items(), reverse=True):
            path = self._child(day)
            newest = max(moment for _, moment in items)
            children.append((self.url(path), newest if self.LASTMOD else None))
            docs[path] = (_sitemap([(self.url(p), moment) for p, moment in items]), "application/xml")
        docs[f"/{self.key}/sitemap_article_index.xml"] = (_index(children), "application/xml")
        return docs

    def yaml(self) -> str:
        index = self.url(f"/{self.key}/sitemap_article_index.xml")
        return f"  - name: {self.name}\n    language: ru\n    sitemaps: [{index}]\n"


class ArchiveIndexLastmod(ArchiveIndex):
    """(k) The same index, each child with a lastmod."""

    LASTMOD = True


class Backfill(Shape):
    """A source added with since 60 days back: its archive is to be read in full, once."""

    BACK = 60
    PER_DAY = 3
    NEW = 2
    MAX_ARTICLES = 40

    def __post_init__(self) -> None:
        super().__post_init__()
        self.since = (self.timeline.now - timedelta(days=self.BACK)).astimezone(KYIV).date()

    def _seed(self) -> None:
        today = self.timeline.now.astimezone(KYIV).date()
        for back in range(self.BACK, 0, -1):
            day = today - timedelta(days=back)
            for n in range(self.PER_DAY):
                story = self.publish(1, events=False)[0]
                story.published = story.updated = datetime.combine(day, time(9 + 3 * n), tzinfo=KYIV)
                story.slug = f"{day:%Y-%m-%d}-{story.language}"
                self.timeline.event(self.key, story.number, "backfill")
        # Days before since: never to be fetched, so nobody serves them.
        self.before = [today - timedelta(days=back) for back in range(self.BACK + 1, self.BACK + 6)]

    def tick(self, run: int) -> None:
        if run == 0:
            self._seed()
        for story in self.publish(self.NEW):
            story.slug = f"{story.published.astimezone(KYIV):%Y-%m-%d}-{story.language}"

    def header(self) -> str:
        return (
            f"  - name: {self.name}\n    language: uk\n    since: {self.since.isoformat()}\n"
            f"    max_articles: {self.MAX_ARTICLES}\n"
        )


class DailyBackfill(Backfill):
    """(l) One sitemap per day, named in the sources file by a date template."""

    PER_DAY = 2

    def documents(self) -> dict[str, tuple[str, str]]:
        days: dict[str, list[Story]] = {}
        for story in self.live_stories():
            days.setdefault(story.published.astimezone(KYIV).date().isoformat(), []).append(story)
        docs = {
            f"/l/sitemap.xml?date={day}": (
                _sitemap([(self.url(s.path), s.updated) for s in stories]),
                "application/xml",
            )
            for day, stories in days.items()
        }
        for day in getattr(self, "before", ()):
            docs[f"/l/sitemap.xml?date={day.isoformat()}"] = (
                _sitemap([(self.url(f"/l/news/{8000 + day.day:04d}-{day:%Y-%m-%d}-old.html"), None)]),
                "application/xml",
            )
        return docs

    def yaml(self) -> str:
        return self.header() + f"    sitemaps: ['{self.url('/l/sitemap.xml')}?date={{date:%Y-%m-%d}}']\n"


class ListingBackfill(Backfill):
    """(m) A paginated archive listing, newest first, 10 a page, with dated article URLs."""

    PER_DAY = 1
    PER_PAGE = 10
    MAX_ARTICLES = 25

    def documents(self) -> dict[str, tuple[str, str]]:
        stories = sorted(self.live_stories(), key=lambda s: s.published, reverse=True)
        older = [
            f"/m/news/{8000 + day.day:04d}-{day:%Y-%m-%d}-old.html" for day in getattr(self, "before", ())
        ]  # listed after since's day, never served
        links = [(s.path, s.title) for s in stories] + [(path, "Архів") for path in older]
        pages = -(-len(links) // self.PER_PAGE)
        docs = {}
        for page in range(1, pages + 1):
            chunk = links[(page - 1) * self.PER_PAGE : page * self.PER_PAGE]
            items = "".join(f'<li><a href="{path}">{escape(title)}</a></li>' for path, title in chunk)
            nav = f'<a rel="next" href="/m/archive/?page={page + 1}">Далі</a>' if page < pages else ""
            path = "/m/archive/" if page == 1 else f"/m/archive/?page={page}"
            docs[path] = (
                f"<!doctype html><html lang='uk'><head><title>Архів</title></head><body><ul>{items}</ul>{nav}</body></html>",
                "text/html; charset=utf-8",
            )
        return docs

    def yaml(self) -> str:
        return (
            self.header() + f"    listings:\n      - url: {self.url('/m/archive/')}\n"
            "        follow: '/m/news/\\d{4}-'\n"
        )


MORE_SHAPES: dict[str, tuple[str, type[Shape]]] = {
    "i": ("i-failing-feed", FailingFeed),
    "j": ("j-archive-index", ArchiveIndex),
    "k": ("k-archive-index-lastmod", ArchiveIndexLastmod),
    "l": ("l-backfill-daily-sitemaps", DailyBackfill),
    "m": ("m-backfill-archive-listing", ListingBackfill),
}
