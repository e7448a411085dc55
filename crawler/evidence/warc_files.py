"""Rotating, gzipped WARC/1.1 files, written with warcio: the archive of what the sites served.

Each exchange is written as a response record (a ``revisit`` record, profile
server-not-modified, for a 304) followed by the request record that asked for it, each its
own gzip member, so a record can be read alone from its offset. The body is stored as it came
over the wire, Content-Encoding and all (gzip, br), since that is what the site served;
Twisted has already undone chunked transfer coding, so ``Transfer-Encoding`` is left out of the
stored headers, where it would tell a reader to de-chunk a body that is not chunked.

A file is written under ``NAME.warc.gz.open`` and renamed to ``NAME.warc.gz`` only once it is
whole (flushed, synced), at ``max_size`` or at the end of the run: a name without ``.open`` is
always a complete file. A write that fails (a full disk) cuts the file back to its last whole
record before it is renamed; a file a killed run left open is cut back and renamed the same
way by the next run (``recover``), if its writer is gone.
"""

from __future__ import annotations

import errno
import gzip
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.files import fsync_dir, pid_alive

__all__ = ["Exchange", "WarcFiles", "read_record", "recover"]
# The content type of a rendered page's conversion record.
RENDERED_TYPE = "text/html; charset=utf-8"

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
GZIP_LEVEL = 6
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_HOST = socket.gethostname().replace("-", "_").replace(".", "_")[:40] or "host"
# Hop-by-hop or already undone before the body reached us.
_DROPPED = frozenset({b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the response it got, as the crawl saw them."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    protocol: str = "HTTP/1.1"
    ip: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The body is the page as the browser rendered it (render:), not the bytes the site sent.
    rendered: bool = False


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class WarcFiles:
    """Not thread-safe: one writer thread calls it (crawler/output/warc_archive.py)."""

    def __init__(self, directory: Path, max_size: int, prefix: str = "sources"):
        self.directory, self.max_size, self.prefix = directory, max_size, prefix
        self.serial = 0
        self.closed: list[Path] = []
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._writer: WARCWriter | None = None
        self._good = 0  # the end of the last whole record
        self._info_end = 0  # the end of the file's warcinfo record
        self._plain = BytesIO()  # one record before it is compressed
        self.broken: OSError | None = None

    @property
    def current(self) -> Path | None:
        """The final name of the file being written."""
        return self._path

    def _open(self) -> None:
        self._good = self._info_end = 0
        self.serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        name = f"{self.prefix}-{stamp}-{self.serial:05d}-{_HOST}-{os.getpid()}.warc.gz"
        self._path = self.directory / name
        # Unbuffered: a write that fails (a full disk) leaves no buffer behind to fail again at
        # every later flush, and the file can be cut back to its last whole record at once.
        self._file = open(str(self._path) + OPEN_SUFFIX, "xb", buffering=0)  # noqa: SIM115 - closed in _finish
        self._writer = WARCWriter(self._plain, gzip=False, warc_version="1.1")
        info = {"software": "sources-crawler", "format": "WARC File Format 1.1",
                "http-body": "as received: Content-Encoding kept, chunked transfer coding undone"}  # fmt: skip
        self._emit(self._writer.create_warcinfo_record(name, info))
        self._good = self._info_end = self._file.tell()

    def write(self, exchange: Exchange) -> dict[str, Any]:
        """Write the exchange; where its response record is (``file``, ``offset``, ``length``, ``record_id``)."""
        if self.broken is not None:
            raise self.broken  # one failure ends the archive for the run: no file after it
        try:
            if self._file is None:
                self._open()
            pointer = self._write(exchange)
        except OSError as exc:
            self.broken = exc
            self._fail()
            raise
        if self._good >= self.max_size:
            self.close()
        return pointer

    def _write(self, exchange: Exchange) -> dict[str, Any]:
        assert self._file is not None and self._writer is not None and self._path is not None
        writer, date = self._writer, exchange.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = [(k, v) for k, v in exchange.response_headers if k.lower().encode() not in _DROPPED]
        http = StatusAndHeaders(_status_line(exchange.status), headers, protocol=exchange.protocol)
        response_id = f"<urn:uuid:{uuid.uuid4()}>"
        warc_headers = {"WARC-Record-ID": response_id, "WARC-Date": date}
        if exchange.ip:
            warc_headers["WARC-IP-Address"] = exchange.ip
        if exchange.rendered:
            # Not what the site sent but what a browser made of it: a conversion record (WARC
            # 1.1 6.8), the DOM as HTML, without the HTTP framing a response record claims.
            record = writer.create_warc_record(exchange.url, "conversion", payload=BytesIO(exchange.body),
                                               length=len(exchange.body), warc_content_type=RENDERED_TYPE,
                                               warc_headers_dict=warc_headers)  # fmt: skip
        elif exchange.status == 304:
            warc_headers.update({"WARC-Profile": NOT_MODIFIED_PROFILE, "WARC-Refers-To-Target-URI": exchange.url})
            record = writer.create_warc_record(exchange.url, "revisit", http_headers=http,
                                               warc_headers_dict=warc_headers)  # fmt: skip
        else:
            record = writer.create_warc_record(exchange.url, "response", payload=BytesIO(exchange.body),
                                               length=len(exchange.body), http_headers=http,
                                               warc_headers_dict=warc_headers)  # fmt: skip
        offset = self._file.tell()
        length = self._emit(record)
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [("Host", parts.netloc), *exchange.request_headers]
        request = writer.create_warc_record(
            exchange.url, "request", payload=BytesIO(b""), length=0,
            http_headers=StatusAndHeaders(f"{exchange.method} {target} {exchange.protocol}", request_headers,
                                          is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )  # fmt: skip
        self._emit(request)
        self._good = self._file.tell()
        return {"file": str(self._path), "offset": offset, "length": length, "record_id": response_id,
                "body": "rendered" if exchange.rendered else "as_received"}  # fmt: skip

    def _emit(self, record: Any) -> int:
        """Write one record as its own gzip member; its compressed length. warcio builds the
        record (headers, digests); the gzip is ours, at level 6: warcio's own is level 9, two to
        three times the CPU for files a few per cent smaller."""
        assert self._file is not None and self._writer is not None
        self._plain.seek(0)
        self._plain.truncate()
        self._writer.write_record(record)
        member = gzip.compress(self._plain.getvalue(), compresslevel=GZIP_LEVEL, mtime=0)
        # An unbuffered write may write part of the member and say so rather than fail (a disk
        # that fills up half-way through): the rest is written until the disk says why not, so
        # a part-written member is never counted as a whole one.
        view = memoryview(member)
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
        return len(member)

    def _fail(self) -> None:
        """A write failed: keep the whole records written before it, renamed as a whole file;
        a file that cannot even be closed is removed rather than left as if being written."""
        if self._file is None or self._path is None:
            return
        path = Path(str(self._path) + OPEN_SUFFIX)
        try:
            if self._good <= self._info_end:
                raise OSError("no whole exchange in it")
            self._file.truncate(self._good)
            self._finish(sync=False)
        except OSError as exc:
            logger.warning("WARC: cannot keep the whole records of %s (%s); removing it", path, exc)
            self._file = self._writer = self._path = None
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._finish(sync=True)

    def _finish(self, sync: bool) -> None:
        assert self._file is not None and self._path is not None
        file, final = self._file, self._path
        self._file = self._writer = self._path = None
        path = Path(str(final) + OPEN_SUFFIX)
        try:
            file.flush()
            if sync:
                os.fsync(file.fileno())
        finally:
            file.close()
        os.replace(path, final)
        if sync:
            fsync_dir(final.parent)
        self.closed.append(final)


def _whole_end(path: Path) -> int:
    """Where the last whole record of a WARC file ends (0 if none is)."""
    end = 0
    with open(path, "rb") as stream:
        try:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                record.content_stream().read()
                end = iterator.get_record_offset() + iterator.get_record_length()
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
            logger.debug("WARC: %s ends in a cut record (%s)", path, exc)
    return end


def _writer_alive(name: str) -> bool:
    """Whether the process that named a file (…-HOST-PID.warc.gz.open) may still be writing it.
    Another machine's file (a shared directory) is never ours to touch; this process has
    opened none yet when it looks, so its own PID means an earlier process's, killed."""
    parts = name[: -len(".warc.gz" + OPEN_SUFFIX)].rsplit("-", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        return True  # not a name this crawler gives: left alone
    if parts[1] != _HOST:
        return True
    pid = int(parts[2])
    return pid != os.getpid() and pid_alive(pid)


def recover(directory: Path) -> list[Path]:
    """Files left open by a killed run: cut back to their last whole record and renamed, or
    removed when not one record in them is whole."""
    recovered = []
    for path in sorted(directory.glob("*.warc.gz" + OPEN_SUFFIX)):
        if _writer_alive(path.name):
            continue
        end = _whole_end(path)
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        if end == 0:
            path.unlink()
            logger.warning("WARC: removed %s, left by a killed run with no whole record", path)
            continue
        with open(path, "r+b") as stream:
            stream.truncate(end)
        os.replace(path, final)
        recovered.append(final)
        logger.warning("WARC: %s was left open by a killed run; its %d whole bytes are kept as %s", path, end, final)
    return recovered


def read_record(path: str | Path, offset: int) -> Iterator[Any]:
    """The record at ``offset`` of a WARC file (a warcio ArcWarcRecord), for ``sources show``."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        for record in ArchiveIterator(stream):
            yield record
            return
