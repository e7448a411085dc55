"""A cron run's log is its summary: Scrapy's banner, settings, component lists and stats dump
are at DEBUG unless LOG_SCRAPY_DETAILS, and a component switched off by default says nothing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import scrapy_command
from tests.site.newsroom import Newsroom

# What a test crawl needs, and nothing that changes the log (FAST turns the details on).
PLAIN = [
    "-s", "TRANSLATION_PROVIDER=none", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
    "-s", "EXTRACTION_WORKERS=0",
]  # fmt: skip
SCRAPY_DETAILS = ("Scrapy 2", "Overridden settings", "Enabled extensions", "Dumping Scrapy stats", "Telnet")


def crawl(tmp_path: Path, newsroom: Newsroom, *extra: str) -> str:
    sources = tmp_path / "sources.yaml"
    sources.write_text(newsroom.sources_yaml(), encoding="utf-8")
    result = scrapy_command(
        "crawl", "sources", "-s", f"SOURCES_FILE={sources}", "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}",
        "-O", str(tmp_path / "out.jsonl"), *PLAIN, *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_a_run_with_nothing_new_logs_its_summary_and_little_else(tmp_path: Path, newsroom: Newsroom) -> None:
    loud = crawl(tmp_path, newsroom, "-s", "LOG_SCRAPY_DETAILS=True")
    assert all(detail in loud for detail in SCRAPY_DETAILS[:4]), "the details are there when asked for"
    log = crawl(tmp_path, newsroom)
    lines = log.splitlines()
    assert "Run summary:" in log
    assert not [line for line in lines if any(detail in line for detail in SCRAPY_DETAILS)], log
    loggers = set(re.findall(r"^\S+ \S+ \[([\w.]+)\] ", log, flags=re.M))
    assert not {name for name in loggers if name.startswith("scrapy.") and name != "scrapy.extensions.feedexport"}, log
    # The summary table (header, rule, a row per source), the translation line, the stored feed
    # and whatever the sources' health has to say.
    assert len(lines) <= 8 + sum("WARNING" in line for line in lines), log
