"""A backfill stopped half-way (SIGTERM) or killed (-9) continues at the first WARC file it had not
finished, and over both runs every article comes out once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.conftest import ROOT, crawl_args
from tests.site.archives import (
    SOURCES_YAML,
    Capture,
    WarcBuilder,
    backfill,
    day,
    output_setting,
    records,
    source_url,
)
from tests.site.server import Site


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


def _stalled_run(
    tmp_path: Path, first: Path, two: bytes, name: str, how: signal.Signals, ready: str
) -> tuple[int, str]:
    """A backfill of ``first`` and ``two`` (served with a long stall half-way), sent ``how`` once
    its log says ``ready`` and the second file is begun."""
    with Site() as site:
        slow = site.handle("/two.warc.gz", _slow_warc(two, 60))  # type: ignore[arg-type]
        settings = crawl_args(tmp_path, None)[2:]
        command = [sys.executable, "-m", "scrapy", "sources", "backfill", "--warc", str(first), slow, *settings,
                   "-s", "ARCHIVE_READERS=1", *output_setting(tmp_path, name)]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        deadline = time.time() + 90
        while time.time() < deadline and not (
            site.requests_for("/two.warc.gz") and any(ready in line for line in lines)
        ):
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(how)
        process.wait(timeout=60)
        reader.join(timeout=30)
    return process.returncode, "".join(lines)


def test_a_stopped_or_killed_backfill_continues_at_the_first_unfinished_file(
    datable: list[bytes], tmp_path: Path
) -> None:
    one, two = WarcBuilder(), WarcBuilder()
    for n in range(5):
        one.add(Capture(source_url(n), datable[n], day(2), published=day(2, 10)))
    for n in range(5, 12):
        two.add(Capture(source_url(n), datable[n], day(3), published=day(3, 9)))
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    first = one.write(tmp_path / "one.warc.gz")

    done = "one.warc.gz: every page dealt with"  # the first file's pages all through the pipeline
    status, stderr = _stalled_run(tmp_path, first, two.build(), "stopped.jsonl", signal.SIGTERM, done)
    stopped = records(tmp_path / "stopped.jsonl")
    assert status == 130, stderr[-2000:]
    assert {r["url"] for r in stopped} >= {source_url(n) for n in range(5)}, "what it read is delivered"

    before = "1 of 2 WARC files were read before"
    status, stderr = _stalled_run(tmp_path, first, two.build(), "killed.jsonl", signal.SIGKILL, before)
    assert before in stderr, "the stopped run recorded its first file as read"
    assert status == -signal.SIGKILL and records(tmp_path / "killed.jsonl") == [], "a run killed -9 delivers nothing"

    with Site() as site:
        again = site.add("/two.warc.gz", two.build(), content_type="application/octet-stream", conditional=False)
        run = backfill(tmp_path, "--warc", str(first), again, *output_setting(tmp_path, "resumed.jsonl"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert before in run.stderr, "the killed run recorded nothing"
    together = Counter(r["url"] for r in [*stopped, *records(tmp_path / "resumed.jsonl")])
    assert together == Counter(source_url(n) for n in range(12)), "every article once over the three runs"
