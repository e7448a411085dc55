"""Cron runs that fail loudly, with real faults: unopenable and full filesystems, a rename that
cannot happen, a closed pipe, state files that are not databases, SIGTERM, pause and resume.

Each fault must give one clear line naming the path and the error, no traceback, a documented
exit status, no temporary file left behind and nothing marked delivered, so that the next run
emits every article that did not reach a completed file.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.exit_codes import EXIT_INTERRUPTED, EXIT_OUTPUT_FAILED, EXIT_STATE_UNUSABLE
from tests.conftest import ROOT, CrawlRun, crawl_command, run_crawl
from tests.disks import fill, tmpfs
from tests.site.newsroom import Newsroom
from tests.site.server import Site

NO_TRANSLATION = ("-s", "TRANSLATION_PROVIDER=none")


def assert_one_clear_line(run: CrawlRun | subprocess.CompletedProcess, *words: str) -> None:
    stderr = run.stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if all(word in line for word in words)]
    assert len(lines) == 1, (words, stderr[-3000:])


def crawl(tmp_path: Path, newsroom: Newsroom, output: str, *extra: str) -> CrawlRun:
    return run_crawl(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, *extra, output=output)


def then_everything_comes_next_run(tmp_path: Path, newsroom: Newsroom, expected: int = 12) -> None:
    after = crawl(tmp_path, newsroom, "after.jsonl")
    assert after.returncode == 0, after.stderr[-2000:]
    assert len(after.records) == expected, "nothing of the failed run was marked delivered"


def no_part_files(*directories: Path) -> list[Path]:
    return [path for directory in directories if directory.exists() for path in directory.rglob(".*.part")]


# --- output -------------------------------------------------------------------------------------


def test_output_that_cannot_be_opened_stops_the_run_before_any_request(tmp_path: Path, newsroom: Newsroom) -> None:
    (tmp_path / "afile").write_text("not a directory")
    run = crawl(tmp_path, newsroom, "afile/out.jsonl")
    assert run.returncode == EXIT_OUTPUT_FAILED
    assert_one_clear_line(run, str(tmp_path / "afile" / "out.jsonl"), "Not a directory")
    assert newsroom.site.hits == [], "nothing was crawled for an output that cannot be written"
    then_everything_comes_next_run(tmp_path, newsroom)


def test_output_directory_turning_read_only_mid_run(tmp_path: Path) -> None:
    with Site() as site, tmpfs(tmp_path / "disk", "4m") as disk:
        newsroom = Newsroom(site, 6, slow={n: 1.5 for n in range(6)})
        process = _start(tmp_path, newsroom, disk / "out.jsonl")
        _wait_for(lambda: newsroom.article_hits() > 0, "the crawl reached the articles")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        stderr = process.communicate(timeout=60)[1]
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert process.returncode == EXIT_OUTPUT_FAILED, stderr[-2000:]
        assert "Traceback" not in stderr and stderr.count("Read-only file system") == 1, stderr[-3000:]
        assert not list(disk.iterdir()), "no output and no temporary file"
        then_everything_comes_next_run(tmp_path, newsroom, expected=6)


def test_disk_full_while_writing(tmp_path: Path) -> None:
    with Site() as site, tmpfs(tmp_path / "disk", "1m") as disk:
        newsroom = Newsroom(site, 40)
        fill(disk, leave=12 * 1024)
        run = crawl(tmp_path, newsroom, "disk/out.jsonl")
        assert run.returncode == EXIT_OUTPUT_FAILED
        assert_one_clear_line(run, str(disk / "out.jsonl"), "No space left on device")
        assert not no_part_files(disk) and not (disk / "out.jsonl").exists()
        assert "stopping the crawl" in run.stderr
        (disk / "filler").unlink()
        then_everything_comes_next_run(tmp_path, newsroom, expected=40)


def test_disk_full_when_the_last_bytes_are_flushed_at_close(tmp_path: Path) -> None:
    with Site() as site, tmpfs(tmp_path / "disk", "256k") as disk:
        newsroom = Newsroom(site, 2)  # two short records stay in the write buffer until the file is closed
        fill(disk, leave=0)
        run = crawl(tmp_path, newsroom, "disk/out.jsonl")
        assert run.returncode == EXIT_OUTPUT_FAILED
        assert_one_clear_line(run, str(disk / "out.jsonl"), "No space left on device")
        assert not no_part_files(disk) and not (disk / "out.jsonl").exists()
        (disk / "filler").unlink()
        then_everything_comes_next_run(tmp_path, newsroom, expected=2)


def test_rename_onto_a_directory_fails_loudly(tmp_path: Path, newsroom: Newsroom) -> None:
    (tmp_path / "out.jsonl").mkdir()
    (tmp_path / "out.jsonl" / "keep").write_text("something downstream put here")
    run = crawl(tmp_path, newsroom, "out.jsonl")
    assert run.returncode == EXIT_OUTPUT_FAILED
    assert_one_clear_line(run, str(tmp_path / "out.jsonl"), "Is a directory")
    assert not no_part_files(tmp_path)
    then_everything_comes_next_run(tmp_path, newsroom)


def test_two_outputs_one_failing_marks_nothing_delivered(tmp_path: Path, newsroom: Newsroom) -> None:
    (tmp_path / "digest.txt").mkdir()
    run = crawl(tmp_path, newsroom, "out.jsonl", "-O", f"{tmp_path / 'digest.txt'}:digest")
    assert run.returncode == EXIT_OUTPUT_FAILED
    assert len(run.records) == 12, "the output that could be written is complete"
    then_everything_comes_next_run(tmp_path, newsroom)


def test_closed_pipe_on_standard_output(tmp_path: Path, newsroom: Newsroom) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write gets EPIPE
    process = subprocess.run(
        crawl_command(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-o", "-:jsonlines"),
        cwd=ROOT,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write)
    assert process.returncode == EXIT_OUTPUT_FAILED
    assert_one_clear_line(process, "standard output", "Broken pipe")
    then_everything_comes_next_run(tmp_path, newsroom)


def test_standard_output_is_an_output_like_any_other(tmp_path: Path, newsroom: Newsroom) -> None:
    first = run_crawl(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-o", "-:jsonlines", output=None)
    assert first.returncode == 0, first.stderr[-2000:]
    assert len([json.loads(line) for line in first.stdout.splitlines()]) == 12
    second = run_crawl(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-o", "-:jsonlines", output=None)
    assert second.returncode == 0 and second.stdout == "", "what reached standard output was delivered"


# --- state database -------------------------------------------------------------------------------


def _truncated_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(2000)])
    db.commit()
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("not a database", ("file is not a database",)),
        ("truncated", ("state database",)),
        ("a directory", ("is a directory",)),
        ("under a file", ("cannot create the state database",)),
    ],
)
def test_a_state_database_that_cannot_be_used(tmp_path: Path, newsroom: Newsroom, case: str, words: tuple) -> None:
    state = tmp_path / "state.sqlite3"
    if case == "not a database":
        state.write_bytes(os.urandom(64 * 1024))
    elif case == "truncated":
        _truncated_database(state)
    elif case == "a directory":
        state.mkdir()
    else:
        (tmp_path / "afile").write_text("x")
        state = tmp_path / "afile" / "state.sqlite3"
    before = hashlib.sha256(state.read_bytes()).hexdigest() if state.is_file() else None
    run = run_crawl(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-s", f"STATE_DB={state}")
    assert run.returncode == EXIT_STATE_UNUSABLE, run.stderr[-2000:]
    assert_one_clear_line(run, str(state), *words)
    assert newsroom.site.hits == [], "nothing was crawled"
    if before is not None:
        assert hashlib.sha256(state.read_bytes()).hexdigest() == before, "the file is left untouched"
        assert not Path(f"{state}-wal").exists()


def test_the_state_database_disk_filling_up_mid_run(tmp_path: Path) -> None:
    with Site() as site, tmpfs(tmp_path / "statedisk", "2m") as disk:
        newsroom = Newsroom(site, 6, slow={n: 1.0 for n in range(6)})
        state = disk / "state.sqlite3"
        process = _start(tmp_path, newsroom, tmp_path / "out.jsonl", "-s", f"STATE_DB={state}")
        _wait_for(lambda: newsroom.article_hits() > 0, "the crawl reached the articles")
        fill(disk)
        stderr = process.communicate(timeout=60)[1]
        assert process.returncode == EXIT_STATE_UNUSABLE, stderr[-2000:]
        assert "Traceback" not in stderr
        assert [line for line in stderr.splitlines() if str(state) in line and "cannot be written" in line]
        assert not (tmp_path / "out.jsonl").exists() and not no_part_files(tmp_path), "nothing published"
        (disk / "filler").unlink()
        after = run_crawl(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-s", f"STATE_DB={state}")
        assert after.returncode == 0 and len(after.records) == 6, after.stderr[-2000:]


# --- signals ----------------------------------------------------------------------------------------


def _start(tmp_path: Path, newsroom: Newsroom, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        crawl_command(tmp_path, newsroom.sources_yaml(), *NO_TRANSLATION, "-O", str(output), *extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _ids(*paths: Path) -> Counter[str]:
    return Counter(json.loads(line)["id"] for path in paths if path.exists() for line in path.read_text().splitlines())


@pytest.mark.parametrize("how", ["SIGTERM", "pause and resume with JOBDIR"])
def test_a_stopped_run_delivers_what_it_wrote_and_the_next_one_the_rest(tmp_path: Path, how: str) -> None:
    with Site() as site:
        newsroom = Newsroom(site, 14, slow={n: 0.7 for n in range(14)})
        # Two requests in flight: the rest waits in the scheduler (in memory, or on disk under JOBDIR).
        job = ("-s", "CONCURRENT_REQUESTS=2", *(("-s", f"JOBDIR={tmp_path / 'job'}") if "JOBDIR" in how else ()))
        first = _start(tmp_path, newsroom, tmp_path / "first.jsonl", *job)
        _wait_for(lambda: newsroom.article_hits() >= 5, "a few articles were fetched")
        first.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
        stderr = first.communicate(timeout=60)[1]
        assert first.returncode == EXIT_INTERRUPTED, stderr[-2000:]
        assert "Traceback" not in stderr
        done = _ids(tmp_path / "first.jsonl")
        assert 0 < len(done) < 14, "the run stopped half-way and published what it had"
        second = _start(tmp_path, newsroom, tmp_path / "second.jsonl", *job)
        stderr = second.communicate(timeout=120)[1]
        assert second.returncode == 0, stderr[-2000:]
        if "JOBDIR" in how:
            assert "Resuming a paused run" in stderr
            assert "'scheduler/dequeued/disk'" in stderr, "the rest came from the request queue on disk"
        delivered = _ids(tmp_path / "first.jsonl", tmp_path / "second.jsonl")
        assert len(delivered) == 14 and set(delivered.values()) == {1}, "nothing lost, nothing twice"
        pages = Counter(hit.path for hit in newsroom.site.requests_for("/news/"))
        assert max(pages.values()) == 1, "no article page fetched twice"


def test_a_jobdir_run_is_an_ordinary_run_and_can_be_reused(tmp_path: Path, newsroom: Newsroom) -> None:
    job = ("-s", f"JOBDIR={tmp_path / 'job'}")
    first = crawl(tmp_path, newsroom, "first.jsonl", *job)
    assert first.returncode == 0 and len(first.records) == 12, first.stderr[-2000:]
    assert "has no attribute" not in first.stderr
    newsroom.add(50)
    again = crawl(tmp_path, newsroom, "again.jsonl", *job)
    assert again.returncode == 0
    assert [r["url"].rsplit("/", 1)[1] for r in again.records] == ["0050.html"], "the same JOBDIR works next time"


def test_no_spider_attribute_collides_with_a_name_scrapy_reserves() -> None:
    import scrapy

    from crawler.spiders.sources_spider import SourcesSpider

    ours = set(vars(SourcesSpider())) - set(vars(scrapy.Spider(name="plain")))
    ours |= {name for name in vars(SourcesSpider) if not name.startswith("__")}
    # Set by Scrapy itself: SpiderState (JOBDIR) puts its dict in "state", the crawler the rest.
    reserved = {"state", "crawler", "settings", "logger", "log", "custom_settings", "start_urls"}
    assert not reserved & ours
    assert not hasattr(SourcesSpider(), "state")
