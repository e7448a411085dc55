"""OUTPUT_RETENTION_DAYS: a cron run every 15 minutes writes 192 outputs and summaries a day;
with the setting, each run deletes the ones its own time-named FEEDS paths wrote more than
that many days ago, and nothing else."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.output.retention import OutputRetention, output_patterns, sweep
from tests.conftest import run_crawl
from tests.disks import fill, tmpfs
from tests.site.newsroom import Newsroom
from tests.site.server import Site

DAY = 86400
TEMPLATE = "output/sources-%(run_time)s.jsonl"


def matches(template: str, name: str) -> bool:
    patterns = next(iter(output_patterns([template]).values()), [])
    return any(pattern.fullmatch(name) for pattern in patterns)


@pytest.mark.parametrize(
    "name",
    [
        "sources-2026-11-01T06-15-00Z.jsonl",
        "sources-2026-11-01T06-15-00Z.jsonl.summary.json",
        "sources-2026-11-01T06-15-00Z-s3.jsonl",
        "sources-2026-11-01T06-15-00Z-s3-r2.jsonl.summary.json",
        "sources-2026-11-01T06-15-00Z.manifest.json",
    ],
)
def test_the_files_a_time_named_output_leaves_are_recognised(name: str) -> None:
    assert matches(TEMPLATE, name)


@pytest.mark.parametrize(
    "name",
    [
        "sources-latest.jsonl",
        "sources-2026-11-01.jsonl",
        "notes-2026-11-01T06-15-00Z.jsonl",
        "sources-2026-11-01T06-15-00Z.jsonl.bak",
        "sources-2026-11-01T06-15-00Z.csv",
    ],
)
def test_other_files_are_not(name: str) -> None:
    assert not matches(TEMPLATE, name)


def test_only_local_outputs_named_by_a_run_are_swept() -> None:
    assert output_patterns(["today.jsonl", "-", "stdout:", "s3://bucket/sources-%(run_time)s.jsonl"]) == {}
    assert output_patterns(["output/%(run_time)s/items.jsonl"]) == {}, "a directory per run is not ours to remove"
    found = output_patterns(["file:///srv/news/%(name)s-%(time)s.jsonl", "digests/%(run_id)s.md"])
    assert set(found) == {Path("/srv/news"), Path("digests")}
    assert any(p.fullmatch("sources-2026-11-01T06-15-00.123456+00-00.jsonl") for p in found[Path("/srv/news")])
    assert any(p.fullmatch("20261101T061500-4242.md") for p in found[Path("digests")])
    # A shard's own FEEDS carry its tag; the pattern covers every shard of every run.
    sharded = output_patterns(["output/sources-%(run_time)s-s2.jsonl"])[Path("output")]
    assert any(p.fullmatch("sources-2026-11-01T06-15-00Z-s7-r2.jsonl") for p in sharded)


def aged(path: Path, days: float, text: str = "{}\n") -> Path:
    path.write_text(text)
    moment = time.time() - days * DAY
    os.utime(path, (moment, moment))
    return path


def test_sweep_removes_old_outputs_only(tmp_path: Path) -> None:
    old = [
        aged(tmp_path / "sources-2026-10-01T06-15-00Z.jsonl", 30),
        aged(tmp_path / "sources-2026-10-01T06-15-00Z.jsonl.summary.json", 30),
    ]
    kept = [
        aged(tmp_path / "sources-2026-11-30T06-15-00Z.jsonl", 3),  # recent
        aged(tmp_path / "notes.txt", 300),  # not ours
        aged(tmp_path / "sources-latest.jsonl", 300),  # a fixed name
        aged(tmp_path / ".sources-2026-10-01T06-15-00Z.jsonl", 300),  # hidden: a temporary file
    ]
    (tmp_path / "sources-2026-09-01T06-15-00Z.jsonl").mkdir()  # a directory by that name is not a file

    result = sweep(tmp_path, output_patterns(["sources-%(run_time)s.jsonl"])[Path(".")], time.time() - 7 * DAY)

    assert result.removed == 2 and result.freed == 6 and not result.failed
    assert not any(path.exists() for path in old)
    assert all(path.exists() for path in kept)
    assert sweep(tmp_path / "missing", [], 0).removed == 0


def test_a_file_that_cannot_be_removed_is_reported_not_raised(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        aged(disk / "sources-2026-10-01T06-15-00Z.jsonl", 30)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            result = sweep(disk, output_patterns([TEMPLATE])[Path("output")], time.time() - DAY)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert result.removed == 0
        assert [(path.name, reason) for path, reason in result.failed] == [
            ("sources-2026-10-01T06-15-00Z.jsonl", "Read-only file system")
        ]


@pytest.mark.parametrize(
    "settings",
    [
        {},  # off by default
        {"OUTPUT_RETENTION_DAYS": 7, "FEEDS": {"today.jsonl": {"format": "jsonlines"}}},
        {"OUTPUT_RETENTION_DAYS": 7, "FEEDS": {"stdout:": {"format": "jsonlines"}}},
    ],
)
def test_retention_is_off_unless_set_and_useful(settings: dict) -> None:
    crawler = get_crawler(Spider, settings)
    with pytest.raises(NotConfigured):
        build_from_crawler(OutputRetention, crawler)


def test_a_full_disk_of_old_outputs_makes_room_for_the_run(tmp_path: Path) -> None:
    """The sweep runs before the run writes: the disk cron filled with old outputs is what
    this run's output needs."""
    with Site() as site, tmpfs(tmp_path / "disk", "1m") as disk:
        newsroom = Newsroom(site, 40)
        recent = aged(disk / "sources-2026-12-01T06-15-00Z.jsonl", 1)
        foreign = aged(disk / "notes.txt", 90)
        for day in range(1, 40):
            old = disk / f"sources-2026-10-{day:02d}T06-15-00Z.jsonl"
            try:
                aged(old, 60, "x" * 30_000)
                aged(old.with_name(old.name + ".summary.json"), 60, "{}")
            except OSError:  # the disk is full: drop the partial file
                old.unlink()
                old.with_name(old.name + ".summary.json").unlink(missing_ok=True)
                break
        fill(disk, leave=4096)

        run = run_crawl(
            tmp_path,
            newsroom.sources_yaml(),
            "-s",
            "OUTPUT_RETENTION_DAYS=7",
            output="disk/sources-%(run_time)s.jsonl",
        )

        assert run.returncode == 0, run.stderr[-3000:]
        outputs = sorted(disk.glob("sources-*.jsonl"))
        assert recent in outputs and foreign.exists()
        assert len(outputs) == 2, outputs
        new = next(path for path in outputs if path != recent)
        assert len(new.read_text().splitlines()) == 40
        lines = [line for line in run.stderr.splitlines() if "Output retention: removed" in line]
        assert len(lines) == 1 and f"older than 7 days from {disk}" in lines[0], run.stderr[-3000:]
        assert run.stats["output/retention_removed"] >= 2
