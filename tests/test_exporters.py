"""Output files appear under their final name only when complete; lines are always valid UTF-8 JSON."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crawler.items import ArticleItem
from crawler.output.exporters import AtomicFileFeedStorage, SafeJsonLinesItemExporter
from tests.conftest import ROOT, crawl_command
from tests.site.server import Site

BODY = " ".join(["Парламент ухвалив закон про бюджет на наступний рік після тривалих дебатів."] * 8)


def article_html(n: int) -> str:
    return f"<html><head><title>Стаття {n}</title></head><body><article><h1>Стаття номер {n}</h1><p>{BODY}</p><p>Абзац {n}.</p></article></body></html>"


def test_storage_publishes_only_on_store(tmp_path: Path) -> None:
    target = tmp_path / "out" / "feed.jsonl"
    storage = AtomicFileFeedStorage(str(target), feed_options={"overwrite": True})
    handle = storage.open(spider=None)  # type: ignore[arg-type]
    handle.write(b'{"a": 1}\n')
    assert not target.exists()
    assert storage.temp.exists() and storage.temp.name.startswith(".feed.jsonl.")
    storage.store(handle)
    assert target.read_bytes() == b'{"a": 1}\n' and not storage.temp.exists() and storage.committed


def test_append_mode_keeps_existing_lines(tmp_path: Path) -> None:
    target = tmp_path / "feed.jsonl"
    target.write_bytes(b"old\n")
    storage = AtomicFileFeedStorage(f"file://{target}", feed_options={"overwrite": False})
    handle = storage.open(spider=None)  # type: ignore[arg-type]
    handle.write(b"new\n")
    assert target.read_bytes() == b"old\n"
    storage.store(handle)
    assert target.read_bytes() == b"old\nnew\n"


def test_stale_part_files_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".feed.jsonl.{int(dead.stdout)}.part"
    stale.write_bytes(b"half a line")
    alive = tmp_path / f".other.jsonl.{os.getpid()}.part"
    alive.write_bytes(b"in progress")
    storage = AtomicFileFeedStorage(str(tmp_path / "feed.jsonl"), feed_options={"overwrite": True})
    storage.store(storage.open(spider=None))  # type: ignore[arg-type]
    assert not stale.exists() and alive.exists()


def test_exporter_writes_valid_utf8_whatever_the_text() -> None:
    buffer = io.BytesIO()
    exporter = SafeJsonLinesItemExporter(buffer, encoding="utf-8")
    item = ArticleItem(
        id="0" * 20, source="s", url="https://a.org/", canonical_url="https://a.org/", discovered_via={"kind": "feed", "url": "https://a.org/f"},
        title="Заголовок\x00 з NUL", text="Лone \ud800 surrogate\x1b and \x07 bell", summary=None, author=None, published=None,
        fetched_at="2025-01-01T00:00:00Z", language="uk", language_confidence=1.0, tags=["теги"],
    )  # fmt: skip
    exporter.start_exporting()
    exporter.export_item(item)
    exporter.finish_exporting()
    raw = buffer.getvalue()
    record = json.loads(raw.decode("utf-8"))
    assert "Заголовок".encode() in raw, "no \\u escapes"
    assert "\x00" not in record["title"] and "\ud800" not in record["text"]
    assert list(record)[:3] == ["id", "source", "url"]


def test_killed_crawl_leaves_no_partial_output(tmp_path: Path, site: Site) -> None:
    for n in range(6):
        site.add(f"/a/{n}.html", article_html(n))

    def slow(request):  # the last article keeps the crawl busy until it is killed
        time.sleep(30)

    site.handle("/a/slow.html", slow)
    items = "".join(
        f"<item><title>t{n}</title><link>{site.url(f'/a/{n}.html')}</link></item>" for n in [*range(6), "slow"]
    )
    site.add("/rss", f"<rss version='2.0'><channel>{items}</channel></rss>", content_type="application/rss+xml")
    target = tmp_path / "result.jsonl"
    target.write_text("previous complete file\n", encoding="utf-8")
    sources_yaml = f"sources:\n  - name: s\n    language: uk\n    feeds: [{site.url('/rss')}]\n"
    args = crawl_command(tmp_path, sources_yaml, "-O", str(target))
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        parts: list[Path] = []
        while time.monotonic() < deadline:
            parts = [p for p in tmp_path.glob(".result.jsonl.*.part") if p.stat().st_size > 0]
            if parts and len(site.requests_for("/a/")) >= 7:
                break
            time.sleep(0.1)
        assert parts, "the crawl writes to a hidden temporary file first"
        assert target.read_text(encoding="utf-8") == "previous complete file\n", "-O does not truncate the target early"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert target.read_text(encoding="utf-8") == "previous complete file\n"
    assert [p.name for p in tmp_path.glob("*.jsonl")] == ["result.jsonl"], "no other file appeared under a final name"
