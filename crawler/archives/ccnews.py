"""Common Crawl's CC-NEWS archive: which of its WARC files a backfill window needs.

CC-NEWS lists its files month by month in ``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz`` under
its data host (``CCNEWS_URL``), one path per line, each file named for the moment its capture
began (``CC-NEWS-20261102093015-01234.warc.gz``) and holding what was captured until the next
one began. A window of a week needs a few dozen of a month's several hundred files, and a
backfill that read them all would spend days on pages it then throws away: the file names
say which to read. A file that started before ``since`` is still read when the next file
started after it, and captures run a little behind publication, so files up to
``CAPTURE_LAG`` after ``until`` are read too (their pages are kept by their own date).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

__all__ = ["CAPTURE_LAG", "file_start", "listing_urls", "parse_listing", "select_files", "warc_url"]

# How long after publication CC-NEWS may capture a page, at most, for a backfill to find it.
CAPTURE_LAG = timedelta(days=3)
LISTING_PATH = "crawl-data/CC-NEWS/{year:04d}/{month:02d}/warc.paths.gz"
_STARTED = re.compile(r"(\d{14})-\d+\.w?arc(?:\.gz)?$")


def _months(first: date, last: date) -> list[tuple[int, int]]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def listing_urls(base: str, since: date, until: date) -> list[str]:
    """The monthly listings a window from ``since`` to ``until`` (both days included) needs."""
    # From the day before: the file capturing when the window opens may have begun then, in
    # the month before.
    first, last = since - timedelta(days=1), until + CAPTURE_LAG
    return [f"{base.rstrip('/')}/{LISTING_PATH.format(year=year, month=month)}" for year, month in _months(first, last)]


def parse_listing(data: bytes) -> list[str]:
    """The paths a listing names (gzip-compressed as Common Crawl serves it, or plain)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"the listing is not a readable gzip file ({exc})") from None
    text = data.decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def file_start(path: str) -> float | None:
    """When the capture of a CC-NEWS file began, from its name (None for another name)."""
    match = _STARTED.search(path)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def select_files(paths: Iterable[str], since: float, until: float) -> list[str]:
    """The files whose captures may hold pages of [since, until): by their names' start times,
    each file running until the next begins. A name without a time is always read."""
    paths = list(paths)
    timed = sorted((start, path) for path in paths if (start := file_start(path)) is not None)
    untimed = [path for path in paths if file_start(path) is None]
    chosen = []
    for n, (start, path) in enumerate(timed):
        ends = timed[n + 1][0] if n + 1 < len(timed) else None
        if (ends is None or ends > since) and start < until + CAPTURE_LAG.total_seconds():
            chosen.append(path)
    return chosen + sorted(dict.fromkeys(untimed))


def warc_url(base: str, path: str) -> str:
    """Where a listed path is served: the data host, or the path itself when it is a URL."""
    if path.startswith(("http://", "https://")):
        return path
    return f"{base.rstrip('/')}/{path.lstrip('/')}"
