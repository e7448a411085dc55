"""Extraction off the reactor: worker processes, one per core.

Scrapy runs callbacks on one thread. trafilatura, language detection and
hashing cost tens of milliseconds of CPU per page, so doing them there would
stall downloads and leave the second core idle. Pages go to worker processes
instead; the spider awaits the result while the reactor keeps downloading,
parsing feeds and writing output.

Workers fork from a forkserver that has already imported trafilatura, loaded
the language profiles and extracted a few sample pages, so a worker starts in
milliseconds and shares those pages with the others (PSS counts them once).

The pool is small and explicit rather than a ProcessPoolExecutor, because it
must be able to act on one worker: a worker that hangs on a hostile page is
killed and replaced (the others carry on), one that dies is replaced and the
page retried once, and one that has grown past EXTRACTION_WORKER_MAX_MB is
retired after its page and replaced by a fresh fork (private memory, not
counting the pages shared with the forkserver), which keeps the memory
of a long crawl flat. Results come back through each worker's pipe, watched by
the event loop, so no thread is involved in the steady state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from crawler import settings as defaults
from crawler.parsing.records import Article, ExtractionOptions, Refusal, Rejected

__all__ = ["ExtractionPool", "PoolConfig", "default_workers"]

logger = logging.getLogger(__name__)

# After this many unexpected worker deaths, extraction falls back to the crawler process.
MAX_CRASHES = 5


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class PoolConfig:
    """The extraction processes: how many (-1: one per core, 0: inline in the crawler), how long
    a page may take, and the memory past which a worker is replaced."""

    workers: int = defaults.EXTRACTION_WORKERS
    timeout: float = defaults.EXTRACTION_TIMEOUT
    worker_max_mb: float = defaults.EXTRACTION_WORKER_MAX_MB

    @classmethod
    def from_settings(cls, settings: Any) -> PoolConfig:
        """EXTRACTION_<FIELD> for each field."""
        # Imported here: this module is imported by every extraction worker, which must not
        # load Scrapy and Twisted (40 MiB and 1.6 s of start-up each, benchmarks/crawl.py).
        from crawler.config.setting_types import settings_config

        return settings_config(cls, settings, "EXTRACTION_")


# Reading smaps_rollup makes the kernel walk every mapping of the worker: 5 ms a page, as much
# as a tenth of a page's extraction (benchmarks/crawl.py --stages). A worker's memory creeps
# up over many pages or jumps on a big one, so it is read after its first page, after every
# MEASURE_EVERY-th and after a big one (news pages of 300 KB to 1 MB are common, and not
# big); malloc_trim, which walks the heap, likewise.
MEASURE_EVERY = 16
BIG_PAGE = 2 * 1024 * 1024


def _private_mb() -> float:
    """Memory this worker holds alone (USS), not the pages it shares with the forkserver."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as rollup:
            total = sum(
                int(line.split()[1]) for line in rollup if line.startswith((b"Private_Clean", b"Private_Dirty"))
            )
        return total / 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0.0


def _extract(body: bytes, options: ExtractionOptions) -> Article | Rejected:
    # Imported where extraction runs: in a worker (the forkserver preloaded it) or inline
    # (EXTRACTION_WORKERS=0); the crawl process alone never loads trafilatura.
    from crawler.parsing.article import extract_article

    return extract_article(body, options)


def _worker_main(conn: Connection) -> None:
    """Runs in the worker: (body, options) in, (result, private MiB or 0 when not measured)
    out, until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from crawler.workers import preload  # noqa: F401 - already imported when forked from the forkserver

    trim: Callable[[int], int] | None
    try:
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        trim = None
    done = 0
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        body, options = task
        try:
            result: Article | Rejected = _extract(body, options)
        except Exception as exc:
            result = Rejected(Refusal.EXTRACTION_ERROR, f"{type(exc).__name__}: {exc}"[:300])
        done += 1
        measured = 0.0
        if len(body) > BIG_PAGE or done % MEASURE_EVERY == 1:
            if trim is not None:
                # Hand the freed heap back first, so the reading is not the high-water mark.
                trim(0)
            measured = _private_mb()
        try:
            conn.send((result, measured))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process = process
        self.conn = conn
        self.future: asyncio.Future[tuple[Article | Rejected, float]] | None = None
        self.tasks = 0


class ExtractionPool:
    """``await pool.extract(body, options)``: in worker processes, or inline when ``workers`` is 0."""

    def __init__(self, config: PoolConfig, stats: Callable[[], Any] | None = None, preload: tuple[str, ...] = ()):
        self.workers = max(0, config.workers if config.workers >= 0 else default_workers())
        self.timeout = config.timeout
        self.max_worker_mb = config.worker_max_mb
        self.stats = stats
        self._context = multiprocessing.get_context("forkserver")
        # ``preload``: more modules the forkserver imports for every worker (crawler/stories/fingerprint_warmup.py).
        # They come first: crawler.workers.preload ends with gc.freeze(), and objects loaded after
        # it were left to every worker's collector, which copies the pages it walks into each
        # worker (12 MiB of PSS on two, benchmarks/crawl.py, when stories loaded numpy).
        self._context.set_forkserver_preload([*preload, "crawler.workers.preload"])
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._starting: asyncio.Future[None] | None = None
        self._crashes = 0
        self._closed = False
        self._background: set[asyncio.Future[None]] = set()

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the forkserver and the workers in the background (the forkserver takes
        a couple of seconds to load trafilatura; the reactor must not wait for it)."""
        if self.workers and self._starting is None:
            self._idle = asyncio.Queue()
            self._starting = asyncio.ensure_future(self._spawn_many(self.workers))
            self._starting.add_done_callback(self._started)

    def _started(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.error(
                "Extraction workers failed to start (%s); extracting in the crawler process", future.exception()
            )
            self.workers = 0

    async def _spawn_many(self, count: int) -> None:
        for _ in range(count):
            await self._spawn()

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        # Process.start() talks to the forkserver (and starts it the first time): off the loop.
        worker = await loop.run_in_executor(None, self._new_worker)
        if self._closed:
            self._stop(worker)
            return
        self._all.add(worker)
        self._count("workers/started")
        loop.add_reader(worker.conn.fileno(), self._on_readable, worker)
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _new_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child,), daemon=True, name="extraction-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _on_readable(self, worker: _Worker) -> None:
        future = worker.future
        try:
            message = worker.conn.recv()
        except (EOFError, OSError) as exc:
            if future is not None and not future.done():
                future.set_exception(ChildProcessError(f"extraction worker {worker.process.pid} died: {exc!r}"))
            elif worker in self._all:
                # Died while idle: replace it; extract() skips it in the idle queue.
                self._crashes += 1
                self._replace(worker, kill=True)
            return
        if future is not None and not future.done():
            future.set_result(message)

    def _forget(self, worker: _Worker) -> None:
        if worker in self._all:
            self._all.discard(worker)
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                asyncio.get_running_loop().remove_reader(worker.conn.fileno())

    def _stop(self, worker: _Worker, kill: bool = False) -> None:
        self._forget(worker)
        try:
            if kill:
                worker.process.kill()
            else:
                worker.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        worker.conn.close()
        # Reap without blocking the loop; a stuck one is killed by its own timeout path.
        if not worker.process.is_alive():
            worker.process.join(0)

    def _replace(self, worker: _Worker, kill: bool = False) -> None:
        self._stop(worker, kill=kill)
        if not self._closed:
            task = asyncio.ensure_future(self._spawn())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _count(self, key: str) -> None:
        stats = self.stats() if self.stats is not None else None
        if stats is not None:
            stats.inc_value(key)

    def close(self) -> None:
        self._closed = True
        for worker in list(self._all):
            self._stop(worker)
        for worker in list(self._all):
            worker.process.join(1)

    # --- work ----------------------------------------------------------------------------

    async def extract(self, body: bytes, options: ExtractionOptions) -> Article | Rejected:
        if self.workers == 0:
            return _extract(body, options)
        if self._starting is None:
            self.start()
        assert self._idle is not None
        for attempt in (1, 2):
            if self.workers == 0:
                return _extract(body, options)
            worker = await self._idle.get()
            while worker not in self._all:  # died while idle
                worker = await self._idle.get()
            future: asyncio.Future[tuple[Article | Rejected, float]] = asyncio.get_running_loop().create_future()
            worker.future = future
            try:
                worker.conn.send((body, options))
                result, private_mb = await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                logger.warning("Extraction of %s took over %g s; replacing its worker", options.url, self.timeout)
                self._count("workers/killed_hung")
                self._replace(worker, kill=True)
                return Rejected(Refusal.EXTRACTION_TIMEOUT, f"extraction took over {self.timeout:g} s")
            except (ChildProcessError, BrokenPipeError, OSError) as exc:
                self._crashes += 1
                self._count("workers/died")
                logger.warning("An extraction worker died on %s (attempt %d): %s", options.url, attempt, exc)
                self._replace(worker, kill=True)
                if self._crashes > MAX_CRASHES:
                    logger.error(
                        "Extraction workers died %d times; extracting in the crawler process instead", self._crashes
                    )
                    self.workers = 0
                continue
            worker.future = None
            worker.tasks += 1
            if private_mb > self.max_worker_mb:
                self._count("workers/recycled")
                self._replace(worker)
            else:
                self._idle.put_nowait(worker)
            return result
        return Rejected(Refusal.EXTRACTION_ERROR, "the extraction worker died on this page twice")
