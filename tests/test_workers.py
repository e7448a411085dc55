"""Extraction in worker processes: same results as inline, and survival of dead, hung or bloated workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.parsing.article import Article, ExtractionOptions, Rejected, extract_article
from crawler.workers.pool import ExtractionPool, PoolConfig
from tests.conftest import ROOT, run_crawl
from tests.site.corpus import NewsSite, news_pages, news_sources_yaml


class Counter:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str) -> None:
        self.values[key] = self.values.get(key, 0) + 1


_UNORDERED = ("fetched_at", "source", "discovered_via")


def test_workers_give_the_same_records_as_inline_extraction(tmp_path: Path, news_site: NewsSite) -> None:
    runs = {}
    for workers in (0, 2):
        directory = tmp_path / f"w{workers}"
        directory.mkdir()
        run = run_crawl(
            directory,
            news_sources_yaml(news_site),
            "-s",
            f"EXTRACTION_WORKERS={workers}",
            "-s",
            "TRANSLATION_PROVIDER=none",
        )
        assert run.returncode == 0, run.stderr[-2000:]
        # Extraction is what is compared: when two sources list one page, which of them it is
        # credited to depends on which answer is extracted first, with workers or without.
        runs[workers] = {r["url"]: {k: v for k, v in r.items() if k not in _UNORDERED} for r in run.records}
    assert runs[0] and runs[0] == runs[2]


@pytest.fixture
def pages(corpus_available: None) -> list[bytes]:
    return [page.html for page in news_pages()[:6]]


def run_pool(coroutine_factory) -> object:
    return asyncio.run(coroutine_factory())


def test_pool_results_match_inline(pages: list[bytes]) -> None:
    async def scenario() -> list[Article | Rejected]:
        pool = ExtractionPool(PoolConfig(workers=2))
        try:
            return await asyncio.gather(
                *(pool.extract(page, ExtractionOptions(url=f"https://x.org/{i}")) for i, page in enumerate(pages))
            )
        finally:
            pool.close()

    results = run_pool(scenario)
    assert results == [
        extract_article(page, ExtractionOptions(url=f"https://x.org/{i}")) for i, page in enumerate(pages)
    ]


def test_a_killed_worker_is_replaced_and_its_page_retried(pages: list[bytes]) -> None:
    stats = Counter()

    async def scenario() -> tuple[Article | Rejected, list[Article | Rejected]]:
        pool = ExtractionPool(PoolConfig(workers=2), stats=lambda: stats)
        try:
            await pool.extract(pages[0], ExtractionOptions(url="https://x.org/warm"))
            pending = asyncio.ensure_future(pool.extract(pages[1] * 3, ExtractionOptions(url="https://x.org/victim")))
            await asyncio.sleep(0.01)
            busy = [w for w in pool._all if w.future is not None]
            assert busy, "the page is being extracted"
            os.kill(busy[0].process.pid, signal.SIGKILL)
            victim = await pending
            later = await asyncio.gather(
                *(pool.extract(page, ExtractionOptions(url=f"https://x.org/{i}")) for i, page in enumerate(pages))
            )
            return victim, later
        finally:
            pool.close()

    victim, later = run_pool(scenario)
    assert isinstance(victim, Article), "retried on a fresh worker"
    assert all(isinstance(result, Article) for result in later)
    assert stats.values.get("workers/died") == 1


def test_a_hung_extraction_is_cut_and_the_pool_goes_on(pages: list[bytes]) -> None:
    stats = Counter()

    async def scenario() -> tuple[Article | Rejected, Article | Rejected]:
        pool = ExtractionPool(PoolConfig(workers=1, timeout=0.001), stats=lambda: stats)
        try:
            await asyncio.sleep(0)
            hung = await pool.extract(pages[0], ExtractionOptions(url="https://x.org/slow"))
            pool.timeout = 60
            after = await pool.extract(pages[1], ExtractionOptions(url="https://x.org/next"))
            return hung, after
        finally:
            pool.close()

    hung, after = run_pool(scenario)
    assert isinstance(hung, Rejected) and hung.reason == "extraction_timeout"
    assert isinstance(after, Article)
    assert stats.values.get("workers/killed_hung") == 1


def test_workers_over_the_memory_cap_are_recycled(pages: list[bytes]) -> None:
    stats = Counter()

    async def scenario() -> list[Article | Rejected]:
        pool = ExtractionPool(PoolConfig(workers=2, worker_max_mb=1), stats=lambda: stats)
        try:
            return [
                await pool.extract(page, ExtractionOptions(url=f"https://x.org/{i}")) for i, page in enumerate(pages)
            ]
        finally:
            pool.close()

    results = run_pool(scenario)
    assert all(isinstance(result, Article) for result in results)
    assert stats.values.get("workers/recycled") == len(pages)


def test_an_extraction_worker_loads_neither_scrapy_nor_twisted() -> None:
    """What a worker imports (the pool module it runs in, what the forkserver preloads, the
    settings' defaults): Scrapy and Twisted cost each worker 40 MiB and 1.6 s of start-up,
    and an innocent import of crawler.settings or crawler.config once brought them in."""
    code = (
        "import sys\n"
        "import crawler.workers.pool, crawler.workers.preload, crawler.stories.fingerprint_warmup\n"
        "from crawler import settings\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
