"""``scrapy sources backfill`` end to end: WARC files of real corpus pages served by a loopback
data host with a CC-NEWS-shaped listing, read into the same pipeline and state as a crawl."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from crawler.parsing.article import ExtractionOptions, extract_article
from tests.conftest import ROOT, crawl_args, newsroom_crawl, scrapy_command
from tests.site.archives import Capture, WarcBuilder, _published_meta, ccnews_name, serve_ccnews
from tests.site.bulk import corpus_pool
from tests.site.newsroom import Newsroom
from tests.site.server import Site

SOURCES = """
sources:
  - name: pravda
    feeds: [https://www.pravda.com.ua/rss/]
    allowed_domains: [pravda.com.ua]
  - name: ria
    feeds: [https://ria.ru/export/rss2/index.xml]
    allowed_domains: [ria.ru]
"""
SCHEMA = json.loads((ROOT / "crawler" / "schema" / "article.schema.json").read_text(encoding="utf-8"))


def _day(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def datable(corpus_available: None) -> list[bytes]:
    """Corpus article pages with no date of their own: the one the archive gives them holds."""
    moment = _day(2, 10)
    pages = []
    for page in corpus_pool(60):
        found = extract_article(_published_meta(page, moment), ExtractionOptions(url="https://ria.ru/news/1/"))
        if getattr(found, "published", None) and found.published.startswith("2026-11-02T10"):  # type: ignore[union-attr]
            pages.append(page)
    if len(pages) < 14:
        pytest.skip(f"the corpus has {len(pages)} undated article pages; 14 needed")
    return pages[:14]


def _url(n: int) -> str:
    return f"https://www.pravda.com.ua/news/2026/11/{n}/" if n % 2 else f"https://ria.ru/2026110{n % 9}/{n}.html"


def _archive(datable: list[bytes]) -> tuple[dict[str, bytes], dict[str, int]]:
    """CC-NEWS files around a window of 2026-11-01..2026-11-04, and which page should come out
    (URL -> page number) from reading them."""
    files, expected = {}, {}
    before = WarcBuilder()  # captured before the window: skipped by its WARC date alone
    before.add(
        Capture(_url(100), datable[13], _day(1, 0) - timedelta(days=2), published=_day(1, 0) - timedelta(days=2))
    )
    files[ccnews_name(datetime(2026, 10, 30, tzinfo=UTC), 0)] = before.build()
    first = WarcBuilder()
    for n in range(6):
        first.add(Capture(_url(n), datable[n], _day(2), published=_day(2, 10)))
        first.add(Capture(f"https://elsewhere.example/{n}.html", datable[n], _day(2)))
        expected[_url(n)] = n
    first.add(Capture(_url(0) + "?utm_source=telegram", datable[0], _day(2, 14)))  # captured twice
    first.add(Capture("https://ria.ru/photo.jpg", b"\xff\xd8\xff" + b"0" * 200, _day(2), content_type="image/jpeg"))
    first.add(Capture("https://ria.ru/gone.html", b"<html>gone</html>", _day(2), status="404 Not Found"))
    first.add(Capture("https://ria.ru/huge.html", b"<html><body>" + b"x" * 9_000_000 + b"</body></html>", _day(2)))
    first.revisit(_url(1), _day(3))
    files[ccnews_name(datetime(2026, 11, 2, tzinfo=UTC), 1)] = first.build()
    second = WarcBuilder()
    for n in range(6, 10):
        second.add(Capture(_url(n), datable[n], _day(3), published=_day(3, 9)))
        expected[_url(n)] = n
    second.add(Capture(_url(2), datable[2], _day(3), published=_day(2, 10)))  # in another file too
    second.add(Capture(_url(10), datable[10], _day(5), published=_day(5, 9)))  # after the window, by its date
    files[ccnews_name(datetime(2026, 11, 3, tzinfo=UTC), 2)] = second.build()
    cut = WarcBuilder()
    for n in (11, 12):
        cut.add(Capture(_url(n), datable[n], _day(4), published=_day(4, 9)))
    data = cut.build()
    files[ccnews_name(datetime(2026, 11, 4, tzinfo=UTC), 3)] = data[: len(data) - 300]  # truncated in page 12
    expected[_url(11)] = 11
    after = WarcBuilder()  # long after the window: not even asked for
    after.add(Capture(_url(13), datable[13], _day(20)))
    files[ccnews_name(datetime(2026, 11, 20, tzinfo=UTC), 4)] = after.build()
    return files, expected


def _backfill(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    sources = workdir / "sources.yaml"
    if not sources.exists():
        sources.write_text(SOURCES, encoding="utf-8")
    settings = crawl_args(workdir, None)[2:]  # the crawl's -s options, without "crawl sources"
    return scrapy_command("sources", "backfill", *args, *settings, "-s", "ARCHIVE_READERS=2", timeout=timeout)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _output(workdir: Path, name: str) -> list[str]:
    return ["-s", f'FEEDS={{"{workdir / name}": {{"format": "jsonlines"}}}}']


def test_a_ccnews_backfill_reads_the_window_once_and_goes_past_bad_files(datable: list[bytes], tmp_path: Path) -> None:
    files, expected = _archive(datable)
    missing = ccnews_name(datetime(2026, 11, 3, 12, tzinfo=UTC), 9)
    with Site() as site:
        base = serve_ccnews(site, files, listed=[missing])
        run = _backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "--until", "2026-11-04",
                        "-s", f"CCNEWS_URL={base}", *_output(tmp_path, "first.jsonl"))  # fmt: skip
        asked = {hit.path.rsplit("/", 1)[-1] for hit in site.hits}
    assert run.returncode == 3, run.stderr[-3000:]  # a file missing and one truncated: the operator hears of it
    records = _records(tmp_path / "first.jsonl")
    assert Counter(r["url"] for r in records) == Counter(list(expected)), (
        "each article of the window once, nothing else"
    )
    validator = Draft202012Validator(SCHEMA)
    for record in records:
        assert not list(validator.iter_errors(record)), record["url"]
        assert record["discovered_via"]["kind"] == "archive" and record["discovered_via"]["url"].startswith(base)
        assert record["warc"]["file"] == record["discovered_via"]["url"] and record["warc"]["length"] > 0
        assert record["source"] == ("pravda" if "pravda" in record["url"] else "ria")
    assert ccnews_name(datetime(2026, 11, 20, tzinfo=UTC), 4) not in asked, "a file long after the window is not read"
    summary = json.loads((tmp_path / "first.jsonl.summary.json").read_text(encoding="utf-8"))
    archives = summary["archives"]
    assert archives["files"] == {"listed": 5, "read": 4, "done_before": 0, "missing": 1, "failed": 0, "broken": 1}
    assert archives["skipped"]["before_window"] == 1 and archives["skipped"]["other_site"] == 6
    assert archives["skipped"]["not_ok"] == 1 and archives["skipped"]["not_html"] == 1
    assert archives["skipped"]["oversized"] == 1 and archives["skipped"]["truncated"] == 1
    assert archives["duplicate_captures"] == 2
    assert summary["sources"]["ria"]["not_emitted"].get("outside_window") or summary["sources"]["pravda"][
        "not_emitted"
    ].get("outside_window")
    assert missing in run.stderr and "missing" in run.stderr and "ends inside a record" in run.stderr

    # Again: the files read whole are not read again; the missing one is asked for again.
    with Site() as site:
        base = serve_ccnews(site, files, listed=[missing])
        again = _backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "--until", "2026-11-04",
                          "-s", f"CCNEWS_URL={base}", *_output(tmp_path, "second.jsonl"))  # fmt: skip
        asked = [hit.path for hit in site.hits if hit.path.endswith(".warc.gz")]
    assert again.returncode == 3 and _records(tmp_path / "second.jsonl") == []
    assert asked == [f"/crawl-data/CC-NEWS/2026/11/{missing}"], asked


def _slow_warc(data: bytes, stall: float) -> object:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        half = len(data) // 2
        request.wfile.write(data[:half])
        request.wfile.flush()
        time.sleep(stall)
        request.wfile.write(data[half:])

    return handler


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_backfill_continues_at_the_first_unfinished_file(
    datable: list[bytes], tmp_path: Path, how: signal.Signals
) -> None:
    one, two = WarcBuilder(), WarcBuilder()
    for n in range(5):
        one.add(Capture(_url(n), datable[n], _day(2), published=_day(2, 10)))
    for n in range(5, 12):
        two.add(Capture(_url(n), datable[n], _day(3), published=_day(3, 9)))
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    first = tmp_path / "one.warc.gz"
    one.write(first)
    with Site() as site:
        slow = site.handle("/two.warc.gz", _slow_warc(two.build(), 60))  # type: ignore[arg-type]
        settings = crawl_args(tmp_path, None)[2:]
        command = [sys.executable, "-m", "scrapy", "sources", "backfill", "--warc", str(first), slow, *settings,
                   "-s", "ARCHIVE_READERS=1", *_output(tmp_path, "stopped.jsonl")]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not site.requests_for("/two.warc.gz") and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # the first file's pages through the pipeline, the second's first half read
        process.send_signal(how)
        _, stderr = process.communicate(timeout=60)
    stopped = _records(tmp_path / "stopped.jsonl")
    if how == signal.SIGTERM:
        assert process.returncode == 130, stderr[-2000:]
        assert {r["url"] for r in stopped} >= {_url(n) for n in range(5)}
    else:
        assert stopped == [], "a run killed outright delivers nothing (its file is not in place)"
    with Site() as site:
        again = site.add("/two.warc.gz", two.build(), content_type="application/octet-stream", conditional=False)
        run = _backfill(tmp_path, "--warc", str(first), again, *_output(tmp_path, "resumed.jsonl"))
    assert run.returncode == 0, run.stderr[-3000:]
    resumed = _records(tmp_path / "resumed.jsonl")
    together = Counter(r["url"] for r in [*stopped, *resumed])
    assert together == Counter(_url(n) for n in range(12)), "every article once over both runs"
    if how == signal.SIGTERM:
        assert "1 of 2 WARC files were read before" in run.stderr


def test_a_backfill_and_a_live_crawl_give_each_article_once_in_either_order(tmp_path: Path) -> None:
    with Site() as site:
        room = Newsroom(site, 6)
        # The archive holds the six the feeds list, an older one they no longer list, and one
        # of the six as it read before an edit the live site never announced.
        archive = WarcBuilder()
        for number, story in room.stories.items():
            page = story.html()
            if number == 3:
                page = page.replace(
                    "</article>", "<p>Абзац, який згодом прибрали з сайту без жодного слова.</p></article>"
                )
            archive.add(Capture(site.url(story.path), page.encode(), _day(2)))
        old = room.add(40, publish=False)
        archive.add(Capture(site.url(old.path), old.html().encode(), _day(2)))
        site.handlers.pop(old.path, None)
        site.routes.pop(old.path, None)
        path = archive.write(tmp_path / "archive.warc.gz")
        for order in ("live_first", "archive_first"):
            workdir = tmp_path / order
            workdir.mkdir()
            (workdir / "sources.yaml").write_text(room.sources_yaml(), encoding="utf-8")
            steps = ["live", "archive"] if order == "live_first" else ["archive", "live"]
            records = []
            for step in steps:
                if step == "live":
                    run = newsroom_crawl(workdir, room, output=f"{step}.jsonl")
                else:
                    run = _backfill(workdir, "--warc", str(path), "--since", "2025-09-01",
                                    *_output(workdir, f"{step}.jsonl"))  # fmt: skip
                assert run.returncode == 0, (order, step, run.stderr[-3000:])
                records += [(step, r) for r in _records(workdir / f"{step}.jsonl")]
            firsts = Counter(r["url"].split("?")[0] for _, r in records if r["revision"] == 1)
            assert all(count == 1 for count in firsts.values()), (order, firsts)
            assert set(firsts) == {site.url(s.path) for s in room.stories.values()}, order
            revisions = [r for _, r in records if r["revision"] > 1]
            if order == "live_first":
                # The archived copy of story 3 differs from what was delivered: a revision, found by the archive.
                assert [(r["url"], r["change"]["found_by"]) for r in revisions] == [
                    (site.url(room.stories[3].path), "archive")
                ]
            else:
                # Delivered from the archive, listed by the feeds without a change: not fetched again.
                assert revisions == [], order


def test_the_backfill_command_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    run = _backfill(tmp_path)
    assert run.returncode == 2 and "say what to read" in run.stderr
    run = _backfill(tmp_path, "--from", "ccnews")
    assert run.returncode == 2 and "needs --since" in run.stderr
    run = _backfill(tmp_path, "--warc", "x.warc.gz", "--since", "2026-11-05", "--until", "2026-11-01")
    assert run.returncode == 2 and "before --since" in run.stderr
    run = _backfill(tmp_path, "--warc", "x.warc.gz", "--sources", "nope")
    assert run.returncode == 78 or run.returncode == 2, run.stderr
    with Site() as site:  # no listing of the window anywhere
        run = _backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "-s", f"CCNEWS_URL={site.url('/')}")
    assert run.returncode == 69 and "no CC-NEWS listing" in run.stderr
