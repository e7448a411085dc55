"""Shared fixtures: the loopback news site and a helper that runs real crawls."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import Postgres, Redis, postgres_server, redis_server
from tests.site.corpus import SKIP_REASON, NewsSite, build_news_site, have_corpus, news_sources_yaml
from tests.site.newsroom import Newsroom
from tests.site.server import Site

ROOT = Path(__file__).resolve().parents[1]
_DATABASES = itertools.count()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two test processes per core. Most of a test's wall time is spent waiting
    (on a crawl subprocess's start, a loopback server, a shard's timeout, the fake clock's
    file), not computing. On this 2-core machine, 2 processes ran the suite in 424 s; 4 in 347 s
    (with a faster Cyrillic model load, since reverted)."""
    return 2 * len(os.sched_getaffinity(0))


# Settings every test crawl uses: no politeness delays against our own loopback
# server, and a state database inside the test's temporary directory. Extraction runs
# inline: starting the worker pool costs 1-3 s per crawl and proves nothing about
# discovery, state or output; WORKERS (below) turns the pool back on where it matters
# (the end-to-end crawl, hostile input, killed runs, tests/test_workers.py).
FAST = [
    # No test reaches the internet: a test that translates names its loopback provider.
    "-s",
    "TRANSLATION_PROVIDER=none",
    "-s",
    "STORIES_ENABLED=False",
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "LOG_LEVEL=INFO",
    # The stats dump at INFO: CrawlRun.stats reads it.
    "-s",
    "LOG_SCRAPY_DETAILS=True",
    "-s",
    "EXTRACTION_WORKERS=0",
]
WORKERS = ["-s", "EXTRACTION_WORKERS=-1"]
# The environment variable through which the state_backend fixture hands crawl_args a STATE_URL.
TEST_STATE_URL = "SOURCES_CRAWLER_TEST_STATE_URL"


@dataclass
class CrawlRun:
    returncode: int
    stdout: str
    stderr: str
    output: Path | None

    @property
    def stats(self) -> dict[str, int]:
        """Integer stats from the 'Dumping Scrapy stats' block of the log."""
        block = self.stderr.rpartition("Dumping Scrapy stats:")[2]
        return {key: int(value) for key, value in re.findall(r"'([^']+)': (\d+)[,}]", block)}

    @property
    def records(self) -> list[dict]:
        if self.output is None or not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text(encoding="utf-8").splitlines()]


def scrapy_command(
    *args: str, cwd: Path = ROOT, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def crawl_args(
    workdir: Path, sources_yaml: str | None = None, *extra: str, fast: bool = True, state: Path | None = None
) -> list[str]:
    """The one spelling of a test crawl's arguments: ``crawl sources`` with the sources file
    (written from ``sources_yaml`` when given) and the state database in ``workdir``."""
    sources = workdir / "sources.yaml"
    if sources_yaml is not None:
        sources.write_text(sources_yaml, encoding="utf-8")
    args = ["crawl", "sources", "-s", f"SOURCES_FILE={sources}"]
    args += ["-s", f"STATE_DB={state or workdir / 'state.sqlite3'}", "-s", f"FEEDS_DIR={workdir / 'feeds'}"]
    args += [*(FAST if fast else []), *extra]
    # Under the state_backend fixture's "postgresql" case the same crawl keeps its state there.
    if os.environ.get(TEST_STATE_URL):
        args += ["-s", f"STATE_URL={os.environ[TEST_STATE_URL]}"]
    return args


def crawl_command(
    workdir: Path, sources_yaml: str | None = None, *extra: str, fast: bool = True, state: Path | None = None
) -> list[str]:
    """``crawl_args`` as a whole command line, for subprocess.Popen and run."""
    return [sys.executable, "-m", "scrapy", *crawl_args(workdir, sources_yaml, *extra, fast=fast, state=state)]


def run_crawl(
    tmp_path: Path,
    sources_yaml: str,
    *extra: str,
    output: str | None = "out.jsonl",
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> CrawlRun:
    target = tmp_path / output if output is not None else None
    outputs = ["-O", str(target)] if target is not None else []
    result = scrapy_command(*crawl_args(tmp_path, sources_yaml, *outputs, *extra), timeout=timeout, env=env)
    return CrawlRun(result.returncode, result.stdout, result.stderr, target)


@pytest.fixture(scope="module")
def results(capture: dict) -> dict:
    """The simulated weeks judged shape by shape (tests/site/capture.py); ``capture`` is the
    module's own run of them (test_capture.py, test_capture_resilience.py)."""
    from tests.site.capture import judge

    return judge(capture)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL 15 on a free loopback port, one per test process."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: Postgres, request: pytest.FixtureRequest) -> str:
    """A fresh database of its own for one test."""
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{os.getpid()}_{next(_DATABASES)}"
    return postgres.create_database(name)


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    """A real redis-server on a free loopback port, one per test process."""
    with redis_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def state_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Run the test once per state store: the SQLite file (STATE_DB), then PostgreSQL (STATE_URL).

    Returns the STATE_URL in force (None for SQLite); crawl_args passes it to every crawl."""
    if request.param == "sqlite":
        monkeypatch.delenv(TEST_STATE_URL, raising=False)
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv(TEST_STATE_URL, url)
    return url


def newsroom_crawl(tmp_path: Path, newsroom: Newsroom, *extra: str, output: str = "out.jsonl") -> CrawlRun:
    """A crawl of the newsroom fixture's site, without translation."""
    return run_crawl(tmp_path, newsroom.sources_yaml(), "-s", "TRANSLATION_PROVIDER=none", *extra, output=output)


@pytest.fixture
def newsroom() -> Iterator[Newsroom]:
    """A live site of 12 articles (tests/site/newsroom.py), for cron-run tests."""
    with Site() as site:
        yield Newsroom(site, 12)


@pytest.fixture(scope="session")
def corpus_available() -> None:
    if not have_corpus():
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def datable(corpus_available: None) -> list[bytes]:
    """Corpus article pages without a date of their own, for archives that date them (tests/site/archives.py)."""
    from tests.site.archives import datable_pages  # it imports this module

    try:
        return datable_pages()
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


@pytest.fixture(scope="session")
def news_site(corpus_available: None) -> Iterator[NewsSite]:
    with Site() as running:
        yield build_news_site(running)


@pytest.fixture(scope="session")
def news_crawl(news_site: NewsSite, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    """One full crawl of the news site, shared by the tests that inspect its output."""
    tmp = tmp_path_factory.mktemp("news-crawl")
    news_site.site.reset_hits()
    run = run_crawl(tmp, news_sources_yaml(news_site), *WORKERS)
    run.hits = news_site.site.counts()  # type: ignore[attr-defined]
    return run
