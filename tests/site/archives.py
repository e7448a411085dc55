"""WARC files of real corpus pages, written with warcio as a web archive would hold them, and a
loopback data host that serves them with a CC-NEWS-shaped monthly listing."""

from __future__ import annotations

import functools
import gzip
import io
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.parsing.article import ExtractionOptions, extract_article
from tests.conftest import crawl_args, scrapy_command
from tests.site.corpus import corpus_dir
from tests.site.server import Site

__all__ = [
    "SOURCES_YAML", "Capture", "WarcBuilder", "backfill", "ccnews_name", "datable_pages", "day", "output_setting",
    "records", "serve_ccnews", "source_url",
]  # fmt: skip


def _published_meta(page: bytes, published: datetime | None) -> bytes:
    """The page with its own publication date in a meta tag (the corpus pages' dates vary)."""
    if published is None:
        return page
    meta = f'<meta property="article:published_time" content="{published.isoformat()}">'.encode()
    head = page.lower().find(b"<head")
    if head < 0:
        return meta + page
    end = page.find(b">", head) + 1
    return page[:end] + meta + page[end:]


@dataclass
class Capture:
    url: str
    body: bytes
    captured: datetime
    published: datetime | None = None
    status: str = "200 OK"
    content_type: str = "text/html; charset=utf-8"


@dataclass
class WarcBuilder:
    """Records in order; ``bytes()`` is the file (gzip member per record, as CC-NEWS has it)."""

    gzip: bool = True
    captures: list[Capture] = field(default_factory=list)
    revisits: list[tuple[str, datetime]] = field(default_factory=list)

    def add(self, capture: Capture) -> None:
        self.captures.append(capture)

    def revisit(self, url: str, when: datetime) -> None:
        self.revisits.append((url, when))

    def build(self) -> bytes:
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=self.gzip, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record("test.warc.gz", {"software": "tests"}))
        for capture in self.captures:
            http = StatusAndHeaders(capture.status, [("Content-Type", capture.content_type)], protocol="HTTP/1.1")
            body = _published_meta(capture.body, capture.published)
            stamp = capture.captured.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            record = writer.create_warc_record(capture.url, "response", payload=io.BytesIO(body), http_headers=http,
                                               warc_headers_dict={"WARC-Date": stamp})  # fmt: skip
            writer.write_record(record)
        for url, when in self.revisits:
            stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.write_record(writer.create_revisit_record(url, "sha1:AAAA", url, stamp))
        return buffer.getvalue()

    def write(self, path: Path) -> Path:
        path.write_bytes(self.build())
        return path


def ccnews_name(started: datetime, serial: int) -> str:
    return f"CC-NEWS-{started.strftime('%Y%m%d%H%M%S')}-{serial:05d}.warc.gz"


def serve_ccnews(site: Site, files: dict[str, bytes], listed: list[str] | None = None) -> str:
    """Serve ``files`` (CC-NEWS names) under the site's data host, and each month's listing
    (``listed`` adds names the listing gives but the host lacks); returns the base URL."""
    months: dict[str, list[str]] = {}
    for name in [*files, *(listed or [])]:
        stamp = name.split("-")[2]
        path = f"crawl-data/CC-NEWS/{stamp[:4]}/{stamp[4:6]}/{name}"
        months.setdefault(f"crawl-data/CC-NEWS/{stamp[:4]}/{stamp[4:6]}/warc.paths.gz", []).append(path)
        if name in files:
            site.add(f"/{path}", files[name], content_type="application/octet-stream", conditional=False)
    for listing, paths in months.items():
        site.add(f"/{listing}", gzip.compress("\n".join(paths).encode() + b"\n"),
                 content_type="application/octet-stream", conditional=False)  # fmt: skip
    return site.url("/").rstrip("/")


# --- a backfill's test command and what it wrote (tests/test_backfill*.py) ----------------------

SOURCES_YAML = """
sources:
  - name: pravda
    feeds: [https://www.pravda.com.ua/rss/]
    allowed_domains: [pravda.com.ua]
  - name: ria
    feeds: [https://ria.ru/export/rss2/index.xml]
    allowed_domains: [ria.ru]
"""


def day(number: int, hour: int = 12) -> datetime:
    """A moment of November 2026, the month the tests' archives hold."""
    return datetime(2026, 11, number, hour, tzinfo=UTC)


def source_url(n: int) -> str:
    return f"https://www.pravda.com.ua/news/2026/11/{n}/" if n % 2 else f"https://ria.ru/2026110{n % 9}/{n}.html"


@functools.lru_cache(maxsize=1)
def datable_pages(wanted: int = 14) -> list[bytes]:
    """Corpus article pages with no date of their own (the one the archive gives them holds),
    Ukrainian and Russian ones first, each extracted once to tell."""
    from tests.site.bulk import _CANONICAL, _COLLECTIONS

    moment, base = day(2, 10), corpus_dir() / "articles"
    rows = [json.loads(line) for line in (base / "INDEX.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = sorted((r for r in rows if r["collection"] in _COLLECTIONS),
                  key=lambda r: (r["lang_heuristic"] not in ("uk", "ru"), r["file"]))  # fmt: skip
    pages = []
    for row in rows:
        data = (base / row["file"]).read_bytes()
        page = _CANONICAL.sub(b"", gzip.decompress(data) if row["file"].endswith(".gz") else data)
        found = extract_article(_published_meta(page, moment), ExtractionOptions(url="https://ria.ru/news/1/"))
        if getattr(found, "published", None) and found.published.startswith("2026-11-02T10"):  # type: ignore[union-attr]
            pages.append(page)
            if len(pages) == wanted:
                return pages
    raise LookupError(f"the corpus has {len(pages)} undated article pages; {wanted} needed")


def backfill(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``scrapy sources backfill ARGS`` with the test crawl's settings and state in ``workdir``."""
    sources = workdir / "sources.yaml"
    if not sources.exists():
        sources.write_text(SOURCES_YAML, encoding="utf-8")
    settings = crawl_args(workdir, None)[2:]  # the crawl's -s options, without "crawl sources"
    return scrapy_command("sources", "backfill", *args, *settings, "-s", "ARCHIVE_READERS=2", timeout=timeout)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def output_setting(workdir: Path, name: str) -> list[str]:
    return ["-s", f'FEEDS={{"{workdir / name}": {{"format": "jsonlines"}}}}']
