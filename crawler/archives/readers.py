"""WARC files read in reader processes, one file each, several files at once.

Reading a CC-NEWS file is gunzipping a gigabyte and stepping over a hundred thousand records,
nearly all of other sites: CPU the crawl process, which also downloads, hands pages to the
extraction workers and writes the output, cannot spare, and a thread would share its one
core. Each reader process takes a file, keeps the pages a selected source takes (in the
window) and sends them back in small batches through its pipe; the pipe's buffer is all the
slack there is, so a reader waits while the crawl is busy and a backfill's memory does not
grow with the archive. Readers fork from the extraction forkserver (started first), which has
the parsing modules loaded already; without extraction workers (EXTRACTION_WORKERS=0) they
start fresh instead, which costs them far less than loading that forkserver would. This module
is imported by them: no Scrapy here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from crawler.archives.selection import SourceIndex
from crawler.archives.warc_pages import ArchivedPage, Wanted, open_warc, read_pages
from crawler.config.sources_file import Source
from crawler.lifetime import die_with_parent

__all__ = ["FileRead", "Pages", "ReaderConfig", "read_archives"]

logger = logging.getLogger(__name__)

# Pages per message from a reader: few enough that a batch is a few MB at most.
BATCH_PAGES = 8
# Messages waiting in the crawl process, over all readers, before the readers are left to wait.
QUEUED_MESSAGES = 4
# Attempts at opening a file on an HTTP server that fails (a 5xx, a broken connection), and the
# pause before the next: Common Crawl's host answers 503 "Slow Down" under load.
OPEN_ATTEMPTS = 3
OPEN_PAUSE = 2.0


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """What every reader keeps: the selected sources' pages no larger than ``max_size``,
    captured from ``since`` on; read with ``timeout`` seconds for each network read."""

    sources: tuple[Source, ...]
    max_size: int
    since: float | None = None
    timeout: float = 60.0
    readers: int = 2
    # "forkserver" (the extraction workers' own, already started) or "spawn".
    start_method: str = "forkserver"


@dataclass(frozen=True, slots=True)
class Pages:
    file: str
    pages: list[ArchivedPage]


@dataclass(frozen=True, slots=True)
class FileRead:
    """A file read to its end or to a break that reading again would meet again (``complete``),
    or given up on: missing, or the server or the connection failed (``problem`` says which;
    a later backfill reads it again)."""

    file: str
    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    missing: bool = False
    problem: str | None = None
    broken: str | None = None  # where and why a complete file ended early (truncated, corrupt)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Problem:
    text: str
    missing: bool = False


def _open_problem(exc: BaseException) -> _Problem:
    """Why a file could not be opened (or its stream broke), in one line."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, FileNotFoundError) or status in (404, 410):
        return _Problem(f"missing (HTTP {status})" if status else "missing", missing=True)
    if status is not None:
        return _Problem(f"HTTP {status}")
    return _Problem(f"{type(exc).__name__}: {str(exc)[:160]}")


def _read_file(location: str, config: ReaderConfig, wanted: Wanted, conn: Connection) -> FileRead:
    import requests  # the readers' only network client; the crawl process never loads it here

    started, counts, broken = time.monotonic(), Counter[str](), list[str]()
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        batch: list[ArchivedPage] = []
        try:
            with open_warc(location, config.timeout) as stream:
                for page in read_pages(stream, location, wanted, counts, broken):
                    batch.append(page)
                    if len(batch) >= BATCH_PAGES:
                        conn.send(Pages(location, batch))
                        batch = []
            if batch:
                conn.send(Pages(location, batch))
            seconds = time.monotonic() - started
            return FileRead(location, dict(counts), broken="; ".join(broken) or None, seconds=seconds)
        except (OSError, requests.RequestException) as exc:
            if batch:
                conn.send(Pages(location, batch))
            problem = _open_problem(exc)
            transient = not problem.missing and not isinstance(exc, PermissionError | IsADirectoryError)
            if counts or not transient or attempt == OPEN_ATTEMPTS:
                # Part read (its pages are out; the file is read again next time), or hopeless.
                return FileRead(location, dict(counts), complete=False, missing=problem.missing,
                                problem=problem.text, seconds=time.monotonic() - started)  # fmt: skip
            time.sleep(OPEN_PAUSE * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _reader_main(conn: Connection, config: ReaderConfig, parent: int | None) -> None:
    """In a reader: a location in, its Pages and then its FileRead out, until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    wanted = Wanted(SourceIndex(config.sources).takes, config.max_size, config.since)
    while True:
        try:
            location = conn.recv()
        except (EOFError, OSError):
            return
        if location is None:
            return
        try:
            conn.send(_read_file(location, config, wanted, conn))
        except (BrokenPipeError, OSError):
            return


class _Reader:
    def __init__(self, context: Any, config: ReaderConfig):
        self.conn, child = context.Pipe()
        # Its parent: the forkserver (which ends with the crawl), or the crawl itself.
        parent = os.getpid() if context.get_start_method() == "spawn" else None
        self.process = context.Process(
            target=_reader_main, args=(child, config, parent), daemon=True, name="warc-reader"
        )
        self.process.start()
        child.close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)
        self.conn.close()


async def _serve(
    readers: list[_Reader], slot: int, files: asyncio.Queue[str], out: asyncio.Queue[Any],
    spawn: Callable[[], _Reader], start_method: str,
) -> None:  # fmt: skip
    """One reader's files, one after another, its messages into ``out`` (which waits when full).
    A reader that dies (the kernel's OOM killer) fails its file, and a new one takes the next."""
    loop = asyncio.get_running_loop()
    while not files.empty():
        location = files.get_nowait()
        reader = readers[slot]
        reader.conn.send(location)
        while True:
            try:
                message = await loop.run_in_executor(None, reader.conn.recv)
            except (EOFError, OSError) as exc:
                await out.put(FileRead(location, complete=False, problem=f"its reader process died ({exc!r})"))
                reader.stop()
                readers[slot] = await _started(spawn, start_method)
                break
            await out.put(message)
            if isinstance(message, FileRead):
                break


async def _started(spawn: Callable[[], _Reader], start_method: str) -> _Reader:
    """A new reader. A fresh one is started by the loop's own thread: the kernel's parent-death
    signal follows the thread that started a process, and an executor's thread may end before
    the crawl does. One from the forkserver (whose child it is) is asked for in a thread: the
    forkserver's first start takes seconds."""
    if start_method == "spawn":
        return spawn()
    return await asyncio.get_running_loop().run_in_executor(None, spawn)


async def read_archives(locations: Sequence[str], config: ReaderConfig) -> AsyncIterator[Pages | FileRead]:
    """The pages of every file, as the readers find them (files interleave), and a FileRead
    for each file once it is read."""
    if not locations:
        return
    context = multiprocessing.get_context(config.start_method)
    loop = asyncio.get_running_loop()
    count = max(1, min(config.readers, len(locations)))

    def spawn() -> _Reader:
        return _Reader(context, config)

    readers = [await _started(spawn, config.start_method) for _ in range(count)]
    files: asyncio.Queue[str] = asyncio.Queue()
    for location in locations:
        files.put_nowait(location)
    out: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUED_MESSAGES)
    tasks = [
        asyncio.ensure_future(_serve(readers, slot, files, out, spawn, config.start_method)) for slot in range(count)
    ]
    remaining = len(locations)
    try:
        while remaining:
            message = await out.get()
            if isinstance(message, FileRead):
                remaining -= 1
            yield message
    finally:
        for task in tasks:
            task.cancel()
        await loop.run_in_executor(None, lambda: [reader.stop() for reader in readers])
