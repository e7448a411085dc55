"""``scrapy sources backfill`` end to end: WARC files of real corpus pages served by a loopback
data host with a CC-NEWS-shaped listing, read into the same pipeline and state as a crawl."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jsonschema import Draft202012Validator

from tests.conftest import ROOT, newsroom_crawl, run_crawl
from tests.site.archives import (
    SOURCES_YAML,
    Capture,
    WarcBuilder,
    backfill,
    ccnews_name,
    day,
    output_setting,
    records,
    serve_ccnews,
    source_url,
)  # fmt: skip
from tests.site.clock import fixed_clock_env, require_libfaketime
from tests.site.newsroom import Newsroom
from tests.site.server import Site

SCHEMA = json.loads((ROOT / "crawler" / "schema" / "article.schema.json").read_text(encoding="utf-8"))


def _archive(datable: list[bytes]) -> tuple[dict[str, bytes], dict[str, int]]:
    """CC-NEWS files around a window of 2026-11-01..2026-11-04, and which page should come out
    (URL -> page number) from reading them."""
    files, expected = {}, {}
    before = WarcBuilder()  # captured before the window: skipped by its WARC date alone
    before.add(
        Capture(source_url(100), datable[13], day(1, 0) - timedelta(days=2), published=day(1, 0) - timedelta(days=2))
    )
    files[ccnews_name(datetime(2026, 10, 30, tzinfo=UTC), 0)] = before.build()
    first = WarcBuilder()
    for n in range(6):
        first.add(Capture(source_url(n), datable[n], day(2), published=day(2, 10)))
        first.add(Capture(f"https://elsewhere.example/{n}.html", datable[n], day(2)))
        expected[source_url(n)] = n
    first.add(Capture(source_url(0) + "?utm_source=telegram", datable[0], day(2, 14)))  # captured twice
    first.add(Capture("https://ria.ru/photo.jpg", b"\xff\xd8\xff" + b"0" * 200, day(2), content_type="image/jpeg"))
    first.add(Capture("https://ria.ru/gone.html", b"<html>gone</html>", day(2), status="404 Not Found"))
    first.add(Capture("https://ria.ru/huge.html", b"<html><body>" + b"x" * 9_000_000 + b"</body></html>", day(2)))
    first.revisit(source_url(1), day(3))
    files[ccnews_name(datetime(2026, 11, 2, tzinfo=UTC), 1)] = first.build()
    second = WarcBuilder()
    for n in range(6, 10):
        second.add(Capture(source_url(n), datable[n], day(3), published=day(3, 9)))
        expected[source_url(n)] = n
    second.add(Capture(source_url(2), datable[2], day(3), published=day(2, 10)))  # in another file too
    second.add(Capture(source_url(10), datable[10], day(5), published=day(5, 9)))  # after the window, by its date
    files[ccnews_name(datetime(2026, 11, 3, tzinfo=UTC), 2)] = second.build()
    cut = WarcBuilder()
    for n in (11, 12):
        cut.add(Capture(source_url(n), datable[n], day(4), published=day(4, 9)))
    data = cut.build()
    files[ccnews_name(datetime(2026, 11, 4, tzinfo=UTC), 3)] = data[: len(data) - 300]  # truncated in page 12
    expected[source_url(11)] = 11
    # A file that stops being gzip-framed half-way: warcio reads the plain record too, then the
    # next member breaks the file; what was read is kept, the break counted.
    framed, plain = WarcBuilder(), WarcBuilder(gzip=False)
    framed.add(Capture(source_url(12), datable[12], day(4, 13), published=day(4, 9)))
    plain.add(Capture(source_url(14), datable[13], day(4, 14), published=day(4, 9)))
    files[ccnews_name(datetime(2026, 11, 4, 12, tzinfo=UTC), 5)] = framed.build() + plain.build() + framed.build()
    expected[source_url(12)] = 12
    expected[source_url(14)] = 13
    after = WarcBuilder()  # long after the window: not even asked for
    after.add(Capture(source_url(13), datable[13], day(20)))
    files[ccnews_name(datetime(2026, 11, 20, tzinfo=UTC), 4)] = after.build()
    return files, expected


def test_a_ccnews_backfill_reads_the_window_once_and_goes_past_bad_files(datable: list[bytes], tmp_path: Path) -> None:
    files, expected = _archive(datable)
    missing = ccnews_name(datetime(2026, 11, 3, 12, tzinfo=UTC), 9)
    with Site() as site:
        base = serve_ccnews(site, files, listed=[missing])
        run = backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "--until", "2026-11-04",
                        "-s", f"CCNEWS_URL={base}", *output_setting(tmp_path, "first.jsonl"))  # fmt: skip
        asked = {hit.path.rsplit("/", 1)[-1] for hit in site.hits}
    assert run.returncode == 3, run.stderr[-3000:]  # a file missing and one truncated: the operator hears of it
    found = records(tmp_path / "first.jsonl")
    assert Counter(r["url"] for r in found) == Counter(list(expected)), "each article of the window once, nothing else"
    validator = Draft202012Validator(SCHEMA)
    for record in found:
        assert not list(validator.iter_errors(record)), record["url"]
        assert record["discovered_via"]["kind"] == "archive" and record["discovered_via"]["url"].startswith(base)
        assert record["warc"]["file"] == record["discovered_via"]["url"] and record["warc"]["length"] > 0
        assert record["source"] == ("pravda" if "pravda" in record["url"] else "ria")
    assert ccnews_name(datetime(2026, 11, 20, tzinfo=UTC), 4) not in asked, "a file long after the window is not read"
    summary = json.loads((tmp_path / "first.jsonl.summary.json").read_text(encoding="utf-8"))
    archives = summary["archives"]
    assert archives["files"] == {"listed": 6, "read": 5, "done_before": 0, "missing": 1, "failed": 0, "broken": 2}
    assert archives["skipped"]["before_window"] == 1 and archives["skipped"]["other_site"] == 6
    assert archives["skipped"]["not_ok"] == 1 and archives["skipped"]["not_html"] == 1
    assert archives["skipped"]["oversized"] == 1 and archives["skipped"]["truncated"] == 1
    assert archives["skipped"]["corrupt"] == 1
    assert archives["duplicate_captures"] == 2
    assert summary["sources"]["ria"]["not_emitted"].get("outside_window") or summary["sources"]["pravda"][
        "not_emitted"
    ].get("outside_window")
    assert missing in run.stderr and "missing" in run.stderr and "ends inside a record" in run.stderr

    # Again: the files read whole are not read again; the missing one is asked for again.
    with Site() as site:
        base = serve_ccnews(site, files, listed=[missing])
        again = backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "--until", "2026-11-04",
                          "-s", f"CCNEWS_URL={base}", *output_setting(tmp_path, "second.jsonl"))  # fmt: skip
        asked = [hit.path for hit in site.hits if hit.path.endswith(".warc.gz")]
    assert again.returncode == 3 and records(tmp_path / "second.jsonl") == []
    assert asked == [f"/crawl-data/CC-NEWS/2026/11/{missing}"], asked


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
            archive.add(Capture(site.url(story.path), page.encode(), day(2)))
        old = room.add(40, publish=False)
        archive.add(Capture(site.url(old.path), old.html().encode(), day(2)))
        site.handlers.pop(old.path, None)
        site.routes.pop(old.path, None)
        path = archive.write(tmp_path / "archive.warc.gz")
        for order in ("live_first", "archive_first"):
            workdir = tmp_path / order
            workdir.mkdir()
            (workdir / "sources.yaml").write_text(room.sources_yaml(), encoding="utf-8")
            steps = ["live", "archive"] if order == "live_first" else ["archive", "live"]
            delivered = []
            for step in steps:
                if step == "live":
                    run = newsroom_crawl(workdir, room, output=f"{step}.jsonl")
                else:
                    run = backfill(workdir, "--warc", str(path), "--since", "2025-09-01",
                                    *output_setting(workdir, f"{step}.jsonl"))  # fmt: skip
                assert run.returncode == 0, (order, step, run.stderr[-3000:])
                delivered += [(step, r) for r in records(workdir / f"{step}.jsonl")]
            firsts = Counter(r["url"].split("?")[0] for _, r in delivered if r["revision"] == 1)
            assert all(count == 1 for count in firsts.values()), (order, firsts)
            assert set(firsts) == {site.url(s.path) for s in room.stories.values()}, order
            revisions = [r for _, r in delivered if r["revision"] > 1]
            if order == "live_first":
                # The archived copy of story 3 differs from what was delivered: a revision, found by the archive.
                assert [(r["url"], r["change"]["found_by"]) for r in revisions] == [
                    (site.url(room.stories[3].path), "archive")
                ]
            else:
                # Delivered from the archive, listed by the feeds without a change: not fetched again.
                assert revisions == [], order


def test_the_backfill_command_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    run = backfill(tmp_path)
    assert run.returncode == 2 and "say what to read" in run.stderr
    run = backfill(tmp_path, "--from", "ccnews")
    assert run.returncode == 2 and "needs --since" in run.stderr
    run = backfill(tmp_path, "--warc", "x.warc.gz", "--since", "2026-11-05", "--until", "2026-11-01")
    assert run.returncode == 2 and "before --since" in run.stderr
    run = backfill(tmp_path, "--warc", "x.warc.gz", "--sources", "nope")
    assert run.returncode == 78 or run.returncode == 2, run.stderr
    with Site() as site:  # no listing of the window anywhere
        run = backfill(tmp_path, "--from", "ccnews", "--since", "2026-11-01", "-s", f"CCNEWS_URL={site.url('/')}")
    assert run.returncode == 69 and "no CC-NEWS listing" in run.stderr


def test_an_archived_copy_settles_a_page_the_live_crawl_still_owes(tmp_path: Path) -> None:
    with Site() as site:
        room = Newsroom(site, 4)
        story = room.stories[2]
        archive = WarcBuilder()
        archive.add(Capture(site.url(story.path), story.html().encode(), day(2)))
        path = archive.write(tmp_path / "archive.warc.gz")
        site.handlers.pop(story.path, None)
        site.add(story.path, "<html>busy</html>", status=503)  # the site fails on it, run after run
        (tmp_path / "sources.yaml").write_text(room.sources_yaml(), encoding="utf-8")
        first = newsroom_crawl(tmp_path, room, output="first.jsonl")
        assert len(first.records) == 3 and site.url(story.path) not in {r["url"] for r in first.records}
        run = backfill(tmp_path, "--warc", str(path), *output_setting(tmp_path, "archive.jsonl"))
        assert run.returncode == 0, run.stderr[-3000:]
        assert [r["url"] for r in records(tmp_path / "archive.jsonl")] == [site.url(story.path)]
        # An hour later the owed page's pause is over: it would be asked again, were it still owed.
        later = fixed_clock_env(datetime.now(UTC) + timedelta(hours=1), require_libfaketime())
        site.reset_hits()
        again = run_crawl(tmp_path, room.sources_yaml(), "-s", "TRANSLATION_PROVIDER=none", output="again.jsonl",
                          env=later)  # fmt: skip
        assert again.returncode == 0 and again.records == [], again.stderr[-2000:]
        assert not site.requests_for(story.path), "no longer owed: not asked for again"
