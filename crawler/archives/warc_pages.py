"""The article pages of a WARC file, one record at a time, without saving the file.

A record is kept when it is an HTTP 200 ``response`` for a URL some selected source takes
(``wanted``, asked of the URL alone, before even its HTTP headers are parsed), captured no
earlier than the window's start, of an HTML type and no larger than ``max_size``; everything
else is skipped and counted by why (``Skipped``). Most records of a CC-NEWS file belong to
other sites, so what they cost is warcio reading past them, nothing more. A file
that is cut short, or whose gzip framing is not what it claims, ends where it breaks: what came
before it is kept, and the break is counted and logged once, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader

from crawler.parsing.dates import unix_time
from crawler.parsing.urls import declared_canonical

__all__ = ["RECORDS", "ArchivedPage", "Skipped", "Wanted", "open_warc", "read_pages"]

logger = logging.getLogger(__name__)

_HTML = ("text/html", "application/xhtml+xml")
# The count of every record read, beside the skipped ones' counts.
RECORDS = "records"


class Skipped(StrEnum):
    NOT_RESPONSE = "not_response"  # request, metadata, revisit, warcinfo records
    OTHER_SITE = "other_site"  # no selected source takes the URL
    BEFORE_WINDOW = "before_window"  # captured before the backfill's start: it cannot be newer
    NOT_OK = "not_ok"  # an HTTP status other than 200
    NOT_HTML = "not_html"
    OVERSIZED = "oversized"
    TRUNCATED = "truncated"  # the file ends inside a record
    CORRUPT = "corrupt"  # not WARC, or not gzip-framed as it claims


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """An HTML page as the archive holds it; ``offset`` and ``record_id`` say where."""

    url: str
    captured: float | None  # WARC-Date, as a Unix time
    headers: tuple[tuple[str, str], ...]
    body: bytes
    file: str
    offset: int
    length: int  # of the record in the file, as stored (compressed or not)
    record_id: str
    # The canonical URL the page declares (parsing.urls.declared_canonical), read here, off the
    # crawl's process: a copy of an article the backfill has already is not extracted again.
    canonical: str | None = None
    # The source that takes it, and its URL cleaned as a crawl cleans a link (selection.py).
    source: str = ""
    cleaned: str = ""


def _is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in _HTML


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which records a reader keeps: URLs a source ``takes`` (its name and the URL cleaned),
    captured at ``since`` or later."""

    takes: Callable[[str], tuple[str, str] | None]
    max_size: int
    since: float | None = None


def read_pages(
    stream: IO[bytes], name: str, wanted: Wanted, counts: Counter[str], problems: list[str] | None = None
) -> Iterator[ArchivedPage]:
    """The pages of the WARC ``stream`` (named ``name`` in logs and pointers) ``wanted`` takes.
    Where the file breaks is logged, or added to ``problems`` for a caller that logs it."""
    # HTTP headers are parsed only for the records kept (below), not for every record.
    iterator = ArchiveIterator(stream, no_record_parse=True)
    last = None
    try:
        for record in iterator:
            if last is None and not _looks_archived(record):
                _broken(name, counts, Skipped.CORRUPT, "not a WARC or ARC file", problems)
                return
            last = record
            counts[RECORDS] += 1
            page = _page(record, iterator, name, wanted, counts)
            if page is not None:
                yield page
    except (ArchiveLoadFailed, zlib.error, EOFError, ValueError) as exc:
        _broken(name, counts, Skipped.CORRUPT, _described(exc), problems)
        return
    if last is not None and _cut_short(last):
        _broken(name, counts, Skipped.TRUNCATED, "the file ends inside a record", problems)


def _looks_archived(record: Any) -> bool:
    """Whether the first record is one (a file of anything else parses as a made-up ARC record)."""
    if record.format == "warc":
        return True
    return (record.rec_headers.get_header("uri") or "").startswith(("http://", "https://", "filedesc://"))


def _cut_short(record: Any) -> bool:
    """Whether the stream ended before the record's declared length (read what is left first)."""
    try:
        while record.raw_stream.read(65536):
            pass
    except (zlib.error, EOFError, OSError):
        return True
    return getattr(record.raw_stream, "limit", 0) > 0


def _described(exc: BaseException) -> str:
    """The error in one printable line (warcio quotes the bytes it could not read)."""
    first = (str(exc).splitlines() or [""])[0]
    printable = "".join(ch if ch.isprintable() and ord(ch) < 0x250 else "?" for ch in first[:120])
    return f"{type(exc).__name__}: {printable}" if printable else type(exc).__name__


def _broken(name: str, counts: Counter[str], kind: Skipped, why: str, problems: list[str] | None) -> None:
    counts[kind] += 1
    if problems is not None:
        problems.append(why)
    else:
        logger.warning("WARC %s: %s; read up to there, the pages before it are kept", name, why)


_LOADER = ArcWarcRecordLoader()


def _page(
    record: Any, iterator: ArchiveIterator, name: str, wanted: Wanted, counts: Counter[str]
) -> ArchivedPage | None:
    url = record.rec_headers.get_header("WARC-Target-URI") or record.rec_headers.get_header("uri") or ""
    if record.rec_type != "response" or not url.startswith(("http://", "https://")):
        counts[Skipped.NOT_RESPONSE] += 1
        return None
    taken = wanted.takes(url)
    if taken is None:
        counts[Skipped.OTHER_SITE] += 1
        return None
    captured = unix_time(record.rec_headers.get_header("WARC-Date") or record.rec_headers.get_header("archive-date"))
    if wanted.since is not None and captured is not None and captured < wanted.since:
        counts[Skipped.BEFORE_WINDOW] += 1
        return None
    record.http_headers = _LOADER.load_http_headers(record.rec_type, url, record.raw_stream, record.length)
    if record.http_headers is None:
        counts[Skipped.NOT_RESPONSE] += 1
        return None
    max_size = wanted.max_size
    if record.http_headers.get_statuscode() != "200":
        if not _cut_short(record):  # a record cut short is counted once the file ends
            counts[Skipped.NOT_OK] += 1
        return None
    if not _is_html(record.http_headers.get_header("Content-Type")):
        counts[Skipped.NOT_HTML] += 1
        return None
    if (record.length or 0) > max_size * 2:
        counts[Skipped.OVERSIZED] += 1  # not even read: the iterator skips its bytes
        return None
    body = record.content_stream().read(max_size + 1)
    if len(body) > max_size:
        counts[Skipped.OVERSIZED] += 1
        return None
    if getattr(record.raw_stream, "limit", 0) > 0 and _cut_short(record):
        return None  # its payload is cut: counted once the file ends
    return ArchivedPage(
        url=url, captured=captured, headers=tuple(record.http_headers.headers), body=body, file=name,
        offset=iterator.get_record_offset(), length=iterator.get_record_length(),
        record_id=record.rec_headers.get_header("WARC-Record-ID") or "", canonical=declared_canonical(body, url),
        source=taken[0], cleaned=taken[1],
    )  # fmt: skip


@contextlib.contextmanager
def open_warc(location: str, timeout: float = 60.0) -> Iterator[IO[bytes]]:
    """A WARC file on disk or over HTTP(S), as a stream read front to back: a CC-NEWS file of a
    gigabyte is never saved, nor held in memory."""
    if not location.startswith(("http://", "https://")):
        with open(location, "rb") as stream:
            yield stream
        return
    import requests  # only a remote archive needs it

    with requests.get(location, stream=True, timeout=timeout) as response:
        response.raise_for_status()
        response.raw.decode_content = False  # the file's own gzip members are warcio's to read
        yield response.raw
