"""WARC files of real corpus pages, written with warcio as a web archive would hold them, and a
loopback data host that serves them with a CC-NEWS-shaped monthly listing."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.site.server import Site

__all__ = ["Capture", "WarcBuilder", "ccnews_name", "serve_ccnews"]


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
