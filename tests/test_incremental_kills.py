"""Cron runs killed at any moment (kill -9, around the rename of the output) and runs that
overlap: nothing lost, nothing twice, and a killed run never blocks the next.

Kept apart from test_incremental.py so that the suite's workers share these long tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.exit_codes import EXIT_LOCKED
from tests.conftest import ROOT, TEST_STATE_URL, WORKERS, crawl_command, newsroom_crawl
from tests.site.newsroom import Newsroom
from tests.site.server import Site


def _start(
    tmp_path: Path, newsroom: Newsroom, name: str, env: dict[str, str] | None = None, extra: list[str] | None = None
) -> subprocess.Popen:
    # Killed runs are killed with their worker processes: the real pool.
    output = str(tmp_path / "out" / f"{name}-%(run_id)s.jsonl")
    args = crawl_command(tmp_path, newsroom.sources_yaml(), *WORKERS, "-s", "TRANSLATION_PROVIDER=none", "-o", output)
    args += extra or []
    return subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )


def _pending_deliveries(tmp_path: Path) -> int:
    """Delivery rows written in phase 1 and not yet settled, in whichever store the test uses."""
    return _rows(tmp_path, "deliveries")


def _rows(tmp_path: Path, table: str) -> int:
    """Rows of ``table`` in whichever store the test uses (0 before it exists)."""
    if url := os.environ.get(TEST_STATE_URL):
        import psycopg

        with psycopg.connect(url) as db:
            try:
                return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            except psycopg.errors.UndefinedTable:
                return 0
    if not (tmp_path / "state.sqlite3").exists():
        return 0
    with sqlite3.connect(tmp_path / "state.sqlite3", timeout=5) as db:
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _delivered(tmp_path: Path) -> Counter:
    counts: Counter = Counter()
    for path in (tmp_path / "out").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            counts[json.loads(line)["id"]] += 1
    return counts


# SQLite only, as the rename windows below: delivery recovery is the same code on both stores
# (their deliveries tables: tests/test_state_store.py); the overlap test covers PostgreSQL's lease.
def test_kill_9_at_any_moment_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with Site() as site:
        # Slow pages keep each run busy long enough to be killed at different stages.
        newsroom = Newsroom(site, 16, slow={n: 0.4 for n in range(0, 16, 3)})
        for delay in (0.3, 0.8, 1.3, 1.9, 2.6):
            process = _start(tmp_path, newsroom, f"killed{delay}")
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            if delay == 1.3:
                newsroom.edit(1)  # a real change between runs: revision 2 may appear beside revision 1
        final = _start(tmp_path, newsroom, "final")
        assert final.wait(timeout=120) == 0, final.stderr.read().decode()[-2000:] if final.stderr else ""
        delivered = _delivered(tmp_path)
        ids = {i for i in delivered}
        assert len(ids) == 16, "every article reached a completed file"
        revisions = Counter()
        for path in (tmp_path / "out").glob("*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                revisions[(record["id"], record["revision"])] += 1
        assert all(count == 1 for count in revisions.values()), "no article twice unless its content changed"
        assert not list((tmp_path / "out").glob(".*.part")), "temporary files of killed runs are cleaned up"


@pytest.mark.parametrize("window", ["before_rename", "after_rename"])
def test_kill_around_the_rename(tmp_path: Path, newsroom: Newsroom, window: str) -> None:
    stories = ["-s", "STORIES_ENABLED=True"]  # their fingerprints are part of what is delivered
    pause = [*stories, "-s", 'ADDONS={"tests.site.faults.PublishPause": 0}', "-s", "TEST_PUBLISH_PAUSE=3"]
    process = _start(tmp_path, newsroom, "first", extra=pause)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        published = list((tmp_path / "out").glob("first-*.jsonl"))
        pending = _pending_deliveries(tmp_path)
        if (window == "before_rename" and pending and not published) or (window == "after_rename" and published):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    published = list((tmp_path / "out").glob("first-*.jsonl"))
    assert bool(published) == (window == "after_rename")
    second = _start(tmp_path, newsroom, "second", extra=stories)
    assert second.wait(timeout=120) == 0
    delivered = _delivered(tmp_path)
    assert len(delivered) == 12 and set(delivered.values()) == {1}
    assert _rows(tmp_path, "story_prints") == 12, "each delivered article's fingerprint, once"
    message = second.stderr.read().decode() if second.stderr else ""
    assert ("kept (the file is complete)" in message) == (window == "after_rename")


@pytest.mark.usefixtures("state_backend")
def test_overlapping_run_is_refused_and_a_killed_run_does_not_block(tmp_path: Path) -> None:
    with Site() as site:
        newsroom = Newsroom(site, 4, slow={0: 8.0})
        first = _start(tmp_path, newsroom, "first")
        # The first run holds the lock once it fetches: wait for its request of the slow page
        # (a fixed pause raced a slow start-up on a loaded machine).
        deadline = time.monotonic() + 60
        while not site.requests_for(newsroom.stories[0].path) and time.monotonic() < deadline:
            assert first.poll() is None, first.stderr.read().decode()[-2000:] if first.stderr else ""
            time.sleep(0.1)
        started = time.monotonic()
        second = newsroom_crawl(tmp_path, newsroom, output="second.jsonl")
        assert second.returncode == EXIT_LOCKED
        assert "another run holds" in second.stderr and "Traceback" not in second.stderr
        assert time.monotonic() - started < 10
        assert not (tmp_path / "second.jsonl").exists() and not (tmp_path / "second.jsonl.summary.json").exists()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        newsroom.stop_stalling()
        third = newsroom_crawl(tmp_path, newsroom, output="third.jsonl")
        assert third.returncode == 0, "the lock of a killed run is gone with it"
        assert len(third.records) == 4
