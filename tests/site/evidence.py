"""A newsroom that edits and takes down articles without a word in its feed, run as cron would.

    python -m tests.site.evidence --workdir /tmp/evidence

One process serves the site and runs the crawls, under libfaketime (tests/site/clock.py), at
the hours in ``RUN_HOURS`` after the first. Twelve Ukrainian and Russian articles (real texts,
tests/site/timeline.py's corpus) are published before the first run and stay in the feed, which
never says that anything changed. Then, by the hour (``FATES``):

* edits: a paragraph at 30 minutes, the headline at 5 hours, a paragraph added at 2 days;
* removals: 404 at 3 hours, 410 at 20 hours, a redirect to the front page at 2 hours, a soft
  404 (200, "page not found") at 5 hours;
* not removals: 404 for two hours only, 503 for four hours, a redirect to the article's new
  address; and one page that is removed and comes back two days later;
* one article never touched;
* one article whose URL, from 5 hours, gives the front page (200), as the site answers any
  unknown URL: a soft 404 that says nothing of the kind.

The report (``report.json``) holds every record of every run, the hits, and the WARC directory;
tests/test_evidence.py judges it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from scrapy.utils.reactor import install_reactor

install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")

from scrapy.crawler import CrawlerRunner  # noqa: E402
from scrapy.utils.log import configure_logging  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402

from crawler.settings import REVISIT_AFTER  # noqa: E402
from tests.site.clock import faketime_env, libfaketime, set_clock  # noqa: E402
from tests.site.server import Route, Site, unavailable  # noqa: E402
from tests.site.simulate import crawl_settings  # noqa: E402
from tests.site.timeline import corpus_texts  # noqa: E402

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
RUN_HOURS = (0, 0.75, 1.5, 3, 6.5, 8, 12, 20, 26, 30, 50, 56, 74, 80)
BRAND = "Вісті"


@dataclass(frozen=True)
class Fate:
    """What happens to article ``number`` from hour ``at`` (until hour ``until``)."""

    kind: str  # edit_paragraph, edit_title, add_paragraph, 404, 410, home, soft404, 503, moved
    at: float
    until: float | None = None


FATES: dict[int, Fate] = {
    1: Fate("edit_paragraph", 0.5),
    2: Fate("edit_title", 5),
    3: Fate("add_paragraph", 48),
    4: Fate("404", 3),
    5: Fate("410", 20),
    6: Fate("home", 2),
    7: Fate("soft404", 5),
    8: Fate("404", 5, until=7),
    9: Fate("503", 5, until=9),
    10: Fate("404", 3, until=40),
    11: Fate("none", 0),
    12: Fate("moved", 2),
    # The site answers any unknown URL with its front page (200): the article's URL does too.
    13: Fate("front_page", 5),
    # Rewritten from top to bottom at the same address: an edit, however different.
    14: Fate("rewrite", 20),
}
# What the judge expects: (kind, the hour of the run that must report it); nothing else.
EXPECTED = {
    1: [("edited", 1.5)],
    2: [("edited", 6.5)],
    3: [("edited", 74)],
    4: [("removed", 8)],
    5: [("removed", 30)],
    6: [("removed", 8)],
    7: [("removed", 8)],
    10: [("removed", 8), ("restored", 74)],
    13: [("removed", 8)],
    14: [("edited", 26)],
}


def _page(title: str, paragraphs: list[str], language: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    nav = "".join(f'<li><a href="/news/{s}/">{s}</a></li>' for s in ("politics", "economy", "world"))
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8"><title>{escape(title)} | {BRAND}</title>'
        f'</head><body><header><a href="/">{BRAND}</a><nav><ul>{nav}</ul></nav></header><main><article>'
        f'<h1>{escape(title)}</h1><div class="body">{body}</div></article></main>'
        f"<footer>© 2026 {BRAND}</footer></body></html>"
    )


class Newsroom:
    def __init__(self, site: Site):
        self.site = site
        texts = [t for t in corpus_texts() if len(t[1]) >= 4][: len(FATES) + len(RUN_HOURS) + 1]
        self.rewrite = texts.pop()[1][:6]  # a text no other article has
        self.articles = {
            n: (language, paragraphs[:6]) for n, (language, paragraphs) in enumerate(texts[: len(FATES)], 1)
        }
        # A new article before every later run (numbers 101, 102, …): the feed changes each run,
        # as a news feed does, and lists the twelve above all along.
        self.later = {
            100 + n: (language, paragraphs[:6]) for n, (language, paragraphs) in enumerate(texts[len(FATES) :], 1)
        }
        self.published = dict(self.articles)

    def publish_new(self, run: int) -> None:
        if run > 0 and 100 + run in self.later:
            self.published[100 + run] = self.later[100 + run]

    def path(self, number: int) -> str:
        return f"/news/politics/{number:04d}-story.html"

    def title(self, number: int, edited: bool = False) -> str:
        base = self.published[number][1][0].split(". ")[0][:90]
        return ("Оновлено: " + base) if edited else base

    def serve(self, hour: float) -> None:
        site = self.site
        front = "".join(f'<li><a href="{self.path(n)}">{escape(self.title(n))}</a></li>' for n in self.published)
        front_page = (f"<!doctype html><html><head><title>{BRAND}</title></head><body><h1>{BRAND}</h1>"
                      f"<ul>{front}</ul><footer>© 2026</footer></body></html>")  # fmt: skip
        site.add("/", front_page)
        site.fallback = Route(front_page.encode())
        site.add(
            "/news/politics/",
            f"<html><head><title>Політика | {BRAND}</title></head><body><ul>{front}</ul></body></html>",
        )
        items = "".join(
            f"<item><title>{escape(self.title(n))}</title><link>{site.url(self.path(n))}</link>"
            f"<pubDate>{(START - timedelta(minutes=30 + n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            for n in self.published
        )
        site.add("/rss.xml", f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{BRAND}</title>'
                             f"<link>{site.base}/</link>{items}</channel></rss>", content_type="application/rss+xml")  # fmt: skip
        for number in self.published:
            self._serve_article(number, hour)

    def _serve_article(self, number: int, hour: float) -> None:
        site, path = self.site, self.path(number)
        language, paragraphs = self.published[number]
        fate = FATES.get(number, Fate("none", 0))
        active = hour >= fate.at and (fate.until is None or hour < fate.until)
        site.handlers.pop(path, None)
        title, text = self.title(number), list(paragraphs)
        if active and fate.kind == "edit_paragraph":
            text[1] = text[1] + " Цифру уточнено: 42 особи."
        elif active and fate.kind == "edit_title":
            title = self.title(number, edited=True)
        elif active and fate.kind == "rewrite":
            title, text = "Нова версія: " + self.rewrite[0].split(". ")[0][:80], list(self.rewrite)
        elif active and fate.kind == "add_paragraph":
            text.append("Додано пізніше: редакція отримала коментар міністерства, який наводимо повністю.")
        if active and fate.kind in ("404", "410"):
            site.add(
                path, "<html><head><title>Not Found</title></head><body>Not Found</body></html>", status=int(fate.kind)
            )
        elif active and fate.kind == "home":
            site.add(path, b"", status=301, headers={"Location": site.url("/")}, conditional=False)
        elif active and fate.kind == "moved":
            new = f"/news/politics/{number:04d}-story-renamed.html"
            site.add(path, b"", status=301, headers={"Location": site.url(new)}, conditional=False)
            site.add(new, _page(title, text, language))
        elif active and fate.kind == "soft404":
            site.add(path, f"<!doctype html><html><head><title>Сторінку не знайдено | {BRAND}</title></head><body>"
                           f"<header><a href='/'>{BRAND}</a></header><h1>Помилка 404</h1><p>На жаль, такої сторінки"
                           " не існує. Перейдіть на головну.</p></body></html>")  # fmt: skip
        elif active and fate.kind == "503":
            site.handle(path, unavailable)
        elif active and fate.kind == "front_page":
            site.routes.pop(path, None)  # the site's answer to any unknown URL
        else:
            site.add(path, _page(title, text, language))


def sources_yaml(site: Site) -> str:
    return f"sources:\n  - name: vesti\n    language: uk\n    feeds: [{site.url('/rss.xml')}]\n    download_delay: 0\n"


@defer.inlineCallbacks
def run(site: Site, newsroom: Newsroom, workdir: Path, settings: dict[str, str]) -> Any:
    report: dict[str, Any] = {"runs": [], "expected": {str(k): v for k, v in EXPECTED.items()}}
    sources = workdir / "sources.yaml"
    # The project's own revisit ages (the simulated weeks' settings turn them off).
    extra = {"WARC_DIR": str(workdir / "warc"), "WARC_MAX_SIZE": 200_000, "REVISIT_AFTER": REVISIT_AFTER, **settings}
    try:
        for index, hour in enumerate(RUN_HOURS):
            now = START + timedelta(hours=hour)
            set_clock(Path(os.environ["FAKETIME_TIMESTAMP_FILE"]), now, wait=True)
            newsroom.publish_new(index)
            newsroom.serve(hour)
            sources.write_text(sources_yaml(site), encoding="utf-8")
            site.reset_hits()
            runner = CrawlerRunner(crawl_settings(workdir, index, sources, extra))
            crawler = runner.create_crawler("sources")
            yield runner.crawl(crawler)
            output = workdir / f"run-{index:02d}.jsonl"
            records = (
                [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
                if output.exists()
                else []
            )
            stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}
            hits = [[hit.method, hit.path, hit.headers.get("If-None-Match")] for hit in site.hits]
            report["runs"].append({"hour": hour, "records": records, "hits": hits, "stats": stats})
        report["paths"] = {str(n): newsroom.path(n) for n in newsroom.published}
        (workdir / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    finally:
        reactor.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for every crawl")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if "FAKETIME_TIMESTAMP_FILE" not in os.environ:
        library = libfaketime()
        if library is None:
            raise SystemExit("the simulation needs libfaketime (apt-get install faketime)")
        clock = args.workdir / "clock"
        set_clock(clock, START)
        env = {**os.environ, **faketime_env(clock, library)}
        os.execve(
            sys.executable,
            [sys.executable, "-m", "tests.site.evidence", *(sys.argv[1:] if argv is None else argv)],
            env,
        )
    configure_logging({"LOG_LEVEL": "WARNING"}, install_root_handler=True)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    with Site() as site:
        newsroom = Newsroom(site)
        extra = dict(item.split("=", 1) for item in args.set)
        reactor.callWhenRunning(run, site, newsroom, args.workdir, extra)
        reactor.run()
    return 0 if (args.workdir / "report.json").exists() else 1


if __name__ == "__main__":
    sys.exit(main())
