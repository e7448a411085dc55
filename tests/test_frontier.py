"""The retry frontier in real crawls: a page that fails in the one run whose feed lists it
comes out later though no feed lists it any more; pauses grow; a page is given up loudly
(log, summary, `sources list`, `health`); a stopped or killed run loses nothing it had
discovered. Crawls run under libfaketime at the times each test names (tests/site/clock.py);
the site's dates are written for that clock."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from crawler.exit_codes import EXIT_INTERRUPTED, EXIT_OK
from tests.conftest import CrawlRun, crawl_command, run_crawl, scrapy_command
from tests.site.clock import fixed_clock_env, require_libfaketime
from tests.site.server import Site, answer_slowly, reset_connection, unavailable

T0 = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
PARAGRAPHS = [
    "Уряд України оголосив про нові заходи підтримки економіки після засідання кабінету міністрів у четвер.",
    "За словами прем'єр-міністра, програма охопить малий та середній бізнес у всіх областях країни.",
    "Експерти зазначають, що рішення ухвалили після тривалих консультацій з представниками громадськості.",
]
BLOCK_PAGE = (
    "<html><head><title>Attention Required! | Cloudflare</title></head><body><h1>Sorry, you have been blocked</h1>"
    "<p>This website is using a security service to protect itself from online attacks.</p></body></html>"
)


def article(number: int) -> str:
    title = f"Новина номер {number}: уряд ухвалив рішення"
    body = "".join(f"<p>{text} ({number})</p>" for text in PARAGRAPHS)
    return f"<html lang='uk'><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"


def feed(site: Site, numbers: list[int]) -> None:
    """An RSS feed that lists only ``numbers`` (a sliding window: what it listed before is gone)."""
    items = "".join(
        f"<item><title>{n}</title><link>{site.url(f'/news/{n}.html')}</link>"
        f"<pubDate>{format_datetime(T0 - timedelta(minutes=n))}</pubDate></item>"
        for n in numbers
    )
    site.add("/rss.xml", f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>", "application/rss+xml")
    site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")


def crawl_at(tmp: Path, site: Site, moment: datetime, *extra: str, output: str = "out.jsonl") -> CrawlRun:
    env = fixed_clock_env(moment, require_libfaketime())
    sources = f"sources:\n  - name: news\n    language: uk\n    feeds: [{site.url('/rss.xml')}]\n"
    return run_crawl(tmp, sources, "-s", "TRANSLATION_PROVIDER=none", *extra, output=output, env=env)


def summary_of(run: CrawlRun) -> dict:
    assert run.output is not None
    return json.loads(run.output.with_name(run.output.name + ".summary.json").read_text(encoding="utf-8"))


def fetched(site: Site) -> list[str]:
    return sorted(hit.path for hit in site.requests_for("/news/"))


def test_pages_that_failed_come_out_later_though_no_feed_lists_them(tmp_path: Path, site: Site) -> None:
    for number in range(6):
        site.add(f"/news/{number}.html", article(number))
    site.handle("/news/1.html", unavailable)
    site.handle("/news/2.html", reset_connection)
    site.add("/news/3.html", BLOCK_PAGE)
    feed(site, [0, 1, 2, 3])
    first = crawl_at(tmp_path, site, T0)
    assert first.returncode == EXIT_OK, first.stderr[-3000:]
    assert [r["url"].rsplit("/", 1)[1] for r in first.records] == ["0.html"]
    news = summary_of(first)["sources"]["news"]
    assert news["retry_pending"] == 3 and news["given_up"] == 0, news
    assert "retrying" in first.stderr.split("Run summary:")[1].splitlines()[1], "the table has the column"

    # The feed has moved on; the failures have cleared.
    site.handlers.clear()
    site.add("/news/3.html", article(3))
    feed(site, [4, 5])
    site.reset_hits()
    second = crawl_at(tmp_path, site, T0 + timedelta(hours=1))
    assert second.returncode == EXIT_OK, second.stderr[-3000:]
    assert sorted(r["url"].rsplit("/", 1)[1] for r in second.records) == [
        "1.html",
        "2.html",
        "3.html",
        "4.html",
        "5.html",
    ]
    assert {r["discovered_via"]["url"] for r in second.records} == {site.url("/rss.xml")}, "where they were found"
    assert summary_of(second)["sources"]["news"]["retry_pending"] == 0
    assert second.stats["sources/news/retried"] == 3

    site.reset_hits()
    third = crawl_at(tmp_path, site, T0 + timedelta(hours=2))
    # Only the delivered articles' first checks (crawler/evidence), each a conditional GET.
    unconditional = [hit.path for hit in site.requests_for("/news/") if "If-None-Match" not in hit.headers]
    assert third.records == [] and unconditional == [], "nothing owed any more"


def test_pauses_grow_and_a_page_is_given_up_loudly(tmp_path: Path, site: Site) -> None:
    site.add("/news/0.html", article(0))
    site.handle("/news/1.html", unavailable)  # never comes back
    feed(site, [0, 1, 2])  # 2 is listed but never goes live (404)
    give_up = ("-s", "RETRY_GIVE_UP_AFTER=3 runs, 2h")
    asked: list[list[str]] = []
    runs = []
    for minutes in (0, 1, 15, 50, 180):
        site.reset_hits()
        runs.append(crawl_at(tmp_path, site, T0 + timedelta(minutes=minutes), *give_up, output=f"run{minutes}.jsonl"))
        assert runs[-1].returncode == EXIT_OK, runs[-1].stderr[-3000:]
        asked.append(sorted({path for path in fetched(site) if path != "/news/0.html"}))
        feed(site, [])  # the feed has moved on after the first run
    # Scrapy retries a 503 within the run; the frontier asks again on later runs after a pause
    # that doubles: 10 minutes, then 20, then 40. A 404 is given up after three runs whatever
    # the hours; a 503 after three runs *and* two hours.
    assert asked == [["/news/1.html", "/news/2.html"], [], ["/news/1.html", "/news/2.html"],
                     ["/news/1.html", "/news/2.html"], ["/news/1.html"]]  # fmt: skip
    given = [summary_of(run)["sources"]["news"]["given_up"] for run in runs]
    assert given == [0, 0, 0, 1, 1], given
    assert "giving up on " + site.url("/news/2.html") + " after 3 failed runs" in runs[3].stderr
    assert "(last: http_404; RETRY_GIVE_UP_AFTER is 3 runs and 2 hours)" in runs[3].stderr
    assert "giving up on " + site.url("/news/1.html") + " after 4 failed runs" in runs[4].stderr
    assert summary_of(runs[4])["sources"]["news"]["retry_pending"] == 0

    feed(site, [0, 1, 2])  # listed again, unchanged: given up means given up
    site.reset_hits()
    again = crawl_at(tmp_path, site, T0 + timedelta(hours=5), *give_up)
    assert again.returncode == EXIT_OK and fetched(site) == []

    env = fixed_clock_env(T0 + timedelta(hours=5), require_libfaketime())
    state = ["-s", f"SOURCES_FILE={tmp_path / 'sources.yaml'}", "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}"]
    listing = scrapy_command("sources", "list", *state, env=env)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("news "))
    assert row.split()[8:10] == ["0", "0"], "the last run: none retrying, none given up"
    health = scrapy_command("sources", "health", "--json", *state, env=env)
    assert json.loads(health.stdout)["news"]["given_up"] == 2, health.stdout + health.stderr
    table = scrapy_command("sources", "health", *state, env=env)
    assert "GIVEN UP" in table.stdout and "news: 2 page(s) given up lately" in table.stdout, table.stdout


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM", "JOBDIR pause and resume"])
def test_a_stopped_run_loses_nothing_it_had_discovered(tmp_path: Path, site: Site, how: str) -> None:
    # Slow pages, one at a time: the run is stopped with most of them still to fetch.
    for number in range(12):
        site.handle(f"/news/{number}.html", answer_slowly(article(number).encode(), 0.25))
    feed(site, list(range(8)))
    sources = f"sources:\n  - name: news\n    language: uk\n    feeds: [{site.url('/rss.xml')}]\n    concurrency: 1\n"
    jobdir = ["-s", f"JOBDIR={tmp_path / 'job'}"] if how.startswith("JOBDIR") else []
    # One request at a time leaves the rest in the scheduler, which a stop drops (or JOBDIR keeps).
    one = ["-s", "CONCURRENT_REQUESTS=1", "-s", "TRANSLATION_PROVIDER=none"]
    first = subprocess.Popen(
        crawl_command(tmp_path, sources, "-O", str(tmp_path / "first.jsonl"), *one, *jobdir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(site.requests_for("/news/")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    if how != "kill -9":
        assert first.returncode == EXIT_INTERRUPTED, err[-3000:]
    delivered = {json.loads(line)["url"] for line in _lines(tmp_path / "first.jsonl")}
    assert len(delivered) < 8, "stopped before the end"

    feed(site, [8, 9, 10, 11])  # the feed has moved on
    second = run_crawl(tmp_path, sources, "-s", "TRANSLATION_PROVIDER=none", *jobdir, output="second.jsonl")
    assert second.returncode == EXIT_OK, second.stderr[-3000:]
    urls = [record["url"] for record in second.records]
    assert len(urls) == len(set(urls)) and not delivered & set(urls), "nothing twice"
    assert delivered | set(urls) == {site.url(f"/news/{n}.html") for n in range(12)}, "nothing lost"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
