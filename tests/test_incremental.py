"""Cron-style runs over a live site: only new or changed articles, summaries, retried translations,
schema migrations and pruning (killed and overlapping runs: test_incremental_kills.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from crawler.exit_codes import EXIT_SOURCE_FAILED
from crawler.state.sqlite_store import MIGRATIONS, SCHEMA_VERSION, StateDB, StateError
from crawler.translation.cache import cache_key
from tests.conftest import ROOT, WORKERS, crawl_command, newsroom_crawl, run_crawl
from tests.site.newsroom import Newsroom
from tests.site.translators import FakeTranslator


@pytest.mark.usefixtures("state_backend")
def test_unchanged_site_changes_and_additions(tmp_path: Path, newsroom: Newsroom) -> None:
    first = newsroom_crawl(tmp_path, newsroom, *WORKERS)
    assert first.returncode == 0, first.stderr[-2000:]
    assert len(first.records) == 12 and {r["revision"] for r in first.records} == {1}
    assert newsroom.article_hits() == 12

    newsroom.site.reset_hits()
    second = newsroom_crawl(tmp_path, newsroom, *WORKERS)
    assert second.returncode == 0
    assert second.records == [], "nothing new"
    assert newsroom.article_hits() == 0, "no article page downloaded"
    feeds = [hit for hit in newsroom.site.hits if hit.path in ("/rss.xml", "/atom.xml", "/sitemap.xml")]
    assert feeds and all("If-None-Match" in hit.headers for hit in feeds), "feeds are requested conditionally"
    assert second.stats["sources/feeds/discovery/not_modified"] == 2
    assert first.stats["workers/started"] >= 1
    assert "workers/started" not in second.stats, "nothing to extract: no extraction workers started"

    newsroom.edit(3)  # in the Atom feed (<updated>) and the sitemap (lastmod)
    newsroom.add(40)
    newsroom.site.reset_hits()
    third = newsroom_crawl(tmp_path, newsroom)
    by_url = {r["url"].rsplit("/", 1)[1]: r for r in third.records}
    assert sorted(by_url) == ["0003.html", "0040.html"]
    assert by_url["0003.html"]["revision"] == 2 and "редакція 2" in by_url["0003.html"]["text"]
    assert by_url["0040.html"]["revision"] == 1
    assert sorted(hit.path for hit in newsroom.site.requests_for("/news/")) == ["/news/0003.html", "/news/0040.html"]

    fourth = newsroom_crawl(tmp_path, newsroom)
    assert fourth.records == [], "changes come through exactly once"

    everything = newsroom_crawl(tmp_path, newsroom, "-a", "full=1")
    assert len(everything.records) == 13
    revisions = {r["url"].rsplit("/", 1)[1]: r["revision"] for r in everything.records}
    assert revisions["0003.html"] == 2 and revisions["0000.html"] == 1


def test_summary_file_and_exit_status(tmp_path: Path, newsroom: Newsroom) -> None:
    yaml = newsroom.sources_yaml() + f"  - name: broken\n    feeds: [{newsroom.site.url('/missing.xml')}]\n"
    run = run_crawl(tmp_path, yaml, "-s", "TRANSLATION_PROVIDER=none")
    assert run.returncode == EXIT_SOURCE_FAILED, "a source that produced nothing because of errors fails the run"
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text(encoding="utf-8"))
    assert summary["failed_sources"] == ["broken"]
    assert summary["outputs"] == [str(tmp_path / "out.jsonl")] and summary["state_committed"]
    feeds, sitemap = summary["sources"]["feeds"], summary["sources"]["sitemap"]
    assert feeds["new"] + sitemap["new"] == 12 and feeds["status"] == "ok"
    assert sitemap["not_emitted"].get("duplicate", 0) + sitemap["discovered"] >= 12
    assert summary["sources"]["broken"]["discovery"]["failed"] == {"http_404": 1}
    assert summary["sources"]["broken"]["errors"] == {"http_404": 1} and summary["failed_outputs"] == {}
    table = run.stderr.split("Run summary:")[1]
    header = table.splitlines()[1]
    assert header.split()[-1] == "errors", "the table has a column saying why"
    broken = next(line for line in table.splitlines() if line.startswith("broken"))
    assert broken.split()[-4:] == ["failed", "-", "http_404", "1"], "status, health (too new to judge), errors"

    healthy = newsroom_crawl(tmp_path, newsroom)
    assert healthy.returncode == 0
    again = json.loads((tmp_path / "out.jsonl.summary.json").read_text(encoding="utf-8"))
    assert again["totals"]["new"] == again["totals"]["emitted"] == 0
    assert again["sources"]["feeds"]["discovery"]["not_modified"] == 2, "unchanged feeds answered 304"
    assert again["failed_sources"] == []


def test_default_output_name_and_empty_runs(tmp_path: Path, newsroom: Newsroom) -> None:
    outdir = tmp_path / "feeds"
    feeds = (
        '{"' + str(outdir) + '/sources-%(run_time)s.jsonl": {"format": "jsonlines", "store_empty": true}, "'
        + str(outdir) + '/digest-%(run_time)s.txt": {"format": "digest", "store_empty": true}}'
    )  # fmt: skip
    command = crawl_command(
        tmp_path, newsroom.sources_yaml(), "-s", "TRANSLATION_PROVIDER=none", "-s", f"DEFAULT_FEEDS={feeds}"
    )
    for _ in range(2):
        result = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        time.sleep(1.1)
    files = sorted(outdir.glob("sources-*.jsonl"))
    assert len(files) == 2 and all(f.name.endswith("Z.jsonl") for f in files)
    assert len(files[0].read_text().splitlines()) == 12 and files[1].read_text() == "", (
        "an empty run writes an empty file"
    )
    assert all((f.parent / (f.name + ".summary.json")).exists() for f in files)
    digests = sorted(outdir.glob("digest-*.txt"))
    first_finished = json.loads((files[0].parent / (files[0].name + ".summary.json")).read_text())["finished"]
    assert digests[1].read_text(encoding="utf-8") == f"Nothing new since {first_finished}.\n", (
        "the digest of an empty run says so, and since when"
    )
    assert "Nothing new" not in digests[0].read_text(encoding="utf-8")


# SQLite only: the stored retry records are read by the same code on both stores, and
# retry_records is tested on both in tests/test_state_store.py.
def test_failed_translations_are_retried_on_the_next_run(tmp_path: Path, newsroom: Newsroom) -> None:
    with FakeTranslator() as fake:
        settings = [
            "-s",
            "TRANSLATION_PROVIDER=google",
            "-s",
            f"TRANSLATION_URL={fake.url('/m')}",
            "-s",
            "TRANSLATION_TIMEOUT=2",
            "-s",
            "TRANSLATION_BACKOFF=0.05",
        ]
        fake.mode = ("status", 500)
        first = run_crawl(tmp_path, newsroom.sources_yaml(), *settings)
        assert len(first.records) == 12 and {r["translation"]["status"] for r in first.records} == {"failed"}
        fake.mode = ("ok",)
        newsroom.site.reset_hits()
        second = run_crawl(tmp_path, newsroom.sources_yaml(), *settings)
        assert len(second.records) == 12
        assert {r["translation"]["status"] for r in second.records} == {"translated"}
        assert {r["revision"] for r in second.records} == {1}, "same revision: only the translation is new"
        assert newsroom.article_hits() == 0, "retried from the stored record, no page download"
        third = run_crawl(tmp_path, newsroom.sources_yaml(), *settings)
        assert third.records == []


def test_schema_migrations_and_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version=1")
    key = cache_key("google", "uk", "en", "Привіт")
    db.execute("INSERT INTO translation_cache VALUES (?, ?, 1, 1)", (key, "Hello"))
    db.close()
    state = StateDB(path)
    assert state.schema_version == SCHEMA_VERSION
    assert state.cached_translations([key]) == {key: "Hello"}, "older data survives the upgrade"
    state.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StateError, match="newer sources-crawler"):
        StateDB(path)


def test_prune_forgets_old_entries(tmp_path: Path) -> None:
    state = StateDB(tmp_path / "state.sqlite3")
    article = {
        "id": "a" * 20,
        "source": "s",
        "canonical_url": "https://x.org/a",
        "content_hash": "0" * 64,
        "revision": 1,
        "translation_status": "skipped",
        "retry_record": None,
    }
    state.apply(
        {
            "now": 1_000,
            "articles": [article],
            "touched": [],
            "urls": [("x.org/a", "a" * 20, None)],
            "validators": [("https://x.org/rss", '"e"', None)],
        }
    )
    state.apply({"now": 5_000, "articles": [{**article, "id": "b" * 20}], "touched": [], "urls": [], "validators": []})
    pruned = state.prune(older_than=2_000)
    assert pruned["articles"] == 1 and pruned["urls"] == 1 and pruned["discovery"] == 1
    assert state.article("b" * 20) is not None and state.article("a" * 20) is None
