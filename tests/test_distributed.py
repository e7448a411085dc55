"""Runs over several processes: `scrapy sources enqueue` and `scrapy sources worker`, with a
real redis-server and a real PostgreSQL started for the test, and a loopback fleet of sites.

What is checked is what a desk relies on: across the shard files every article exactly
once and every page fetched once; a second run that emits nothing on 304s; a worker killed
with -9 mid-run whose shard is retried elsewhere without losing or repeating anything; a
second enqueue refused (75) while a run is active; a translation outage handled as on one
machine (records kept, marked failed, retried the next run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from crawler.config.sources_file import load_sources
from crawler.distributed.shards import assign_shards
from crawler.exit_codes import EXIT_DEGRADED, EXIT_LOCKED, EXIT_OK, EXIT_SOURCE_FAILED
from tests.conftest import FAST, ROOT
from tests.servers import Postgres, Redis
from tests.site.fleet import Fleet
from tests.site.server import Site
from tests.site.translators import FakeTranslator

pytestmark = pytest.mark.usefixtures("postgres", "redis")


class Cluster:
    """Workers and enqueue commands of one test, all sharing its Redis, database and site."""

    def __init__(self, workdir: Path, site: Site, redis: Redis, state_url: str, sources_yaml: str):
        self.workdir, self.site, self.redis, self.state_url = workdir, site, redis, state_url
        (workdir / "sources.yaml").write_text(sources_yaml, encoding="utf-8")
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCRAPY_SETTINGS_MODULE": "crawler.settings",
            "http_proxy": site.proxy,
            "no_proxy": "127.0.0.1,localhost",
        }
        self.workers: list[subprocess.Popen[bytes]] = []

    def settings(self, *extra: str) -> list[str]:
        return [
            "-s", f"SOURCES_FILE={self.workdir / 'sources.yaml'}", "-s", f"STATE_URL={self.state_url}",
            "-s", f"REDIS_URL={self.redis.url}", "-s", "RUN_HEARTBEAT_SECONDS=1", "-s", "TRANSLATION_PROVIDER=none",
            "-s", f"STATE_DB={self.workdir / 'unused.sqlite3'}", *FAST, *extra,
        ]  # fmt: skip

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"worker{len(self.workers)}.log", "wb")  # noqa: SIM115 - the worker's lifetime
        worker = subprocess.Popen(
            # Only this machine's own settings: whatever a worker sets wins over the run's.
            [sys.executable, "-m", "scrapy", "sources", "worker", "-s", f"REDIS_URL={self.redis.url}",
             "-s", "RUN_HEARTBEAT_SECONDS=1", "-s", "LOG_LEVEL=INFO", *extra],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def enqueue(self, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scrapy", "sources", "enqueue", *self.settings(), *extra],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def sources(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another ``scrapy sources`` action, with the run's settings."""
        return subprocess.run(
            [sys.executable, "-m", "scrapy", "sources", *args, *self.settings()],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def start_enqueue(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "scrapy", "sources", "enqueue", *self.settings(), *extra],
            cwd=self.workdir, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def manifests(self) -> list[dict]:
        paths = sorted((self.workdir / "output").glob("*.manifest.json"))
        return [json.loads(path.read_text(encoding="utf-8")) for path in paths]

    def records(self, manifest: dict) -> list[dict]:
        records = []
        for entry in manifest["files"]:
            path = Path(entry["path"])
            path = path if path.is_absolute() else self.workdir / path
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return records

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.workdir.glob("worker*.log")))

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)


@pytest.fixture
def fleet_site() -> Iterator[Site]:
    with Site() as site:
        yield site


def _cluster(tmp_path: Path, site: Site, redis: Redis, pg_url: str, fleet: Fleet) -> Cluster:
    return Cluster(tmp_path, site, redis, pg_url, fleet.sources_yaml())


def _split_pair(fleet: Fleet, tmp_path: Path, shards: int) -> None:
    """The test is about an article reached through two shards: check the fleet gives that."""
    (tmp_path / "check.yaml").write_text(fleet.sources_yaml(), encoding="utf-8")
    assignment = assign_shards(load_sources(str(tmp_path / "check.yaml")).enabled, shards)
    shard_of = {name: shard for shard, names in assignment.items() for name in names}
    original, copy = (fleet.name(i) for i in fleet.pair)
    assert shard_of[original] != shard_of[copy], assignment


def test_two_workers_emit_every_article_exactly_once_and_then_nothing(
    tmp_path: Path, fleet_site: Site, redis: Redis, pg_url: str
) -> None:
    sites, articles = 20, 30
    fleet = Fleet(fleet_site, sources=sites, articles=articles, shared=10, pair=(0, 2))
    _split_pair(fleet, tmp_path, 2)
    cluster = _cluster(tmp_path, fleet_site, redis, pg_url, fleet)
    try:
        cluster.start_worker()
        cluster.start_worker()
        first = cluster.enqueue("--shards", "2", "--wait")
        assert first.returncode == EXIT_OK, first.stderr[-3000:] + cluster.logs()
        [manifest] = cluster.manifests()
        assert manifest["status"] == 0 and manifest["failed_shards"] == []
        assert len(manifest["shards"]) == 2 and {len(s["files"]) for s in manifest["shards"]} == {1}
        assert all(entry["name"].endswith(f"-s{s['shard']}.jsonl") for s in manifest["shards"] for entry in s["files"])
        records = cluster.records(manifest)
        canonicals = Counter(record["canonical_url"] for record in records)
        assert set(canonicals) == fleet.expected_canonicals() and len(canonicals) == sites * articles - 10
        assert max(canonicals.values()) == 1, "every article exactly once across the shard files"
        fetches = fleet.article_fetches()
        assert len(fetches) == sites * articles and max(fetches.values()) == 1, "every article page fetched once"
        assert sum(manifest["counts"].values()) == len(records)
        hosts = {s["host"] for s in manifest["shards"]}
        assert hosts and None not in hosts
        [manifest_path] = (tmp_path / "output").glob("*.manifest.json")
        digest = cluster.sources("digest", str(manifest_path), "--output", str(tmp_path / "digest.txt"))
        assert digest.returncode == 0 and f"{len(records)} articles written" in digest.stdout, digest.stderr
        listing = cluster.sources("list")
        assert listing.returncode == 0 and "over 2 shards" in listing.stdout, listing.stdout + listing.stderr

        fleet_site.reset_hits()
        second = cluster.enqueue("--shards", "2", "--wait")
        assert second.returncode == EXIT_OK, second.stderr[-3000:] + cluster.logs()
        latest = cluster.manifests()[-1]
        assert latest["run_id"] != manifest["run_id"] and cluster.records(latest) == []
        feeds = [hit for hit in fleet_site.hits if hit.path == "/rss.xml"]
        assert len(feeds) == sites and all("If-None-Match" in hit.headers for hit in feeds)
        discovery = [figures["discovery"] for figures in latest["summary"]["sources"].values()]
        assert len(discovery) == sites and all(d["not_modified"] == 1 and d["ok"] == 0 for d in discovery)
        assert not fleet.article_fetches(), "no article page downloaded again"
    finally:
        cluster.stop()


def test_a_worker_killed_mid_run_has_its_shard_retried(
    tmp_path: Path, fleet_site: Site, redis: Redis, pg_url: str
) -> None:
    fleet = Fleet(fleet_site, sources=8, articles=60, shared=10, pair=(0, 2))
    cluster = _cluster(tmp_path, fleet_site, redis, pg_url, fleet)
    try:
        # Slow enough pages that the kill lands mid-crawl.
        victim = cluster.start_worker("-s", "DOWNLOAD_DELAY=0.05")
        run = cluster.start_enqueue("--shards", "2", "--wait")
        deadline = time.monotonic() + 60
        while len(fleet.article_fetches()) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fleet.article_fetches(), cluster.logs()
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        cluster.start_worker()
        second = cluster.enqueue("--shards", "2")
        assert second.returncode == EXIT_LOCKED, second.stdout + second.stderr
        assert "still active" in second.stderr and "Traceback" not in second.stderr
        _, err = run.communicate(timeout=240)
        assert run.returncode == EXIT_OK, err[-3000:] + cluster.logs()
        [manifest] = cluster.manifests()
        assert manifest["failed_shards"] == []
        canonicals = Counter(record["canonical_url"] for record in cluster.records(manifest))
        assert set(canonicals) == fleet.expected_canonicals(), "nothing missing"
        assert max(canonicals.values()) == 1, "nothing twice, though a shard ran twice"
        assert "AbandonedJobError" in cluster.logs() or "retry" in cluster.logs().lower()
    finally:
        cluster.stop()


def test_a_shard_over_its_timeout_is_stopped_whole_retried_and_reported(
    tmp_path: Path, fleet_site: Site, redis: Redis, pg_url: str
) -> None:
    # 120 pages of 2 s each take longer than two attempts of 6 s can cover: both time out.
    fleet = Fleet(fleet_site, sources=1, articles=120, slow=2.0)
    cluster = _cluster(tmp_path, fleet_site, redis, pg_url, fleet)
    try:
        cluster.start_worker()
        timeout = ["-s", "SHARD_TIMEOUT_SECONDS=6"]
        first = cluster.enqueue("--shards", "1", "--wait", *timeout)
        assert first.returncode == EXIT_SOURCE_FAILED, first.stderr[-3000:] + cluster.logs()
        [manifest] = cluster.manifests()
        assert manifest["failed_shards"] == [0] and manifest["status"] == EXIT_SOURCE_FAILED
        names = {entry["name"] for entry in manifest["files"]}
        first_file, retry_file = (f"sources-{manifest['run_time']}-s0{tag}.jsonl" for tag in ("", "-r2"))
        assert first_file in names and names <= {first_file, retry_file}, names
        stopped = Counter(record["canonical_url"] for record in cluster.records(manifest))
        assert stopped and max(stopped.values()) == 1, "each attempt published what it had, once"
        leftover = subprocess.run(["pgrep", "-f", f"run={manifest['run_id']}"], capture_output=True, text=True)
        assert leftover.stdout == "", "the timed-out crawls are gone, process groups and all"
        with psycopg.connect(pg_url) as db:
            owed = {row[0] for row in db.execute("SELECT url FROM frontier WHERE source = 'fleet00'")}
        assert owed == {fleet.article_url(0, n) for n in range(120)} - set(stopped), "the rest is owed, in PostgreSQL"
        fleet.slow = 0.0
        for number in range(120):
            fleet_site.handlers.pop(f"/news/{number:04d}.html")
        for number in range(120):
            fleet_site.add(f"/news/{number:04d}.html", fleet._page(0, number), host=fleet.host(0))
        # The feed has moved on: what the stopped attempts owe comes from the retry frontier,
        # kept in PostgreSQL across the shard's attempts and the next run.
        empty = "<rss version='2.0'><channel><title>moved on</title></channel></rss>"
        fleet_site.add("/rss.xml", empty, content_type="application/rss+xml", host=fleet.host(0))
        second = cluster.enqueue("--shards", "1", "--wait")
        assert second.returncode == EXIT_OK, second.stderr[-3000:] + cluster.logs()
        rest = Counter(record["canonical_url"] for record in cluster.records(cluster.manifests()[-1]))
        assert not set(rest) & set(stopped), "nothing delivered by the stopped attempts comes again"
        assert set(rest) | set(stopped) == fleet.expected_canonicals(), "and nothing is missing"
        assert set(rest) == owed and (not rest or max(rest.values()) == 1)
    finally:
        cluster.stop()


def test_a_translation_outage_behaves_as_on_one_machine(
    tmp_path: Path, fleet_site: Site, redis: Redis, pg_url: str
) -> None:
    fleet = Fleet(fleet_site, sources=4, articles=5)
    cluster = _cluster(tmp_path, fleet_site, redis, pg_url, fleet)
    with FakeTranslator() as fake:
        provider = ["-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={fake.url('/m')}",
                    "-s", "TRANSLATION_TIMEOUT=2", "-s", "TRANSLATION_BACKOFF=0.05"]  # fmt: skip
        try:
            cluster.start_worker()
            fake.mode = ("status", 500)
            first = cluster.enqueue("--shards", "1", "--wait", *provider)
            assert first.returncode == EXIT_DEGRADED, first.stderr[-3000:] + cluster.logs()
            manifest = cluster.manifests()[-1]
            records = cluster.records(manifest)
            assert len(records) == 20 and {r["translation"]["status"] for r in records} == {"failed"}
            assert manifest["status"] == EXIT_DEGRADED and len(manifest["summary"]["degraded_sources"]) == 4
            fake.mode = ("ok",)
            fleet_site.reset_hits()
            second = cluster.enqueue("--shards", "1", "--wait", *provider)
            assert second.returncode == EXIT_OK, second.stderr[-3000:] + cluster.logs()
            records = cluster.records(cluster.manifests()[-1])
            assert len(records) == 20 and {r["translation"]["status"] for r in records} == {"translated"}
            assert not fleet.article_fetches(), "retried from the stored records, no page download"
        finally:
            cluster.stop()


def test_enqueue_needs_postgres_and_reports_an_unreachable_queue(
    tmp_path: Path, pg_url: str, postgres: Postgres
) -> None:
    with Site() as site:
        fleet = Fleet(site, sources=2, articles=1)
        cluster = Cluster(tmp_path, site, Redis(port=1, pid=0), pg_url, fleet.sources_yaml())
        result = cluster.enqueue("--shards", "2")
        assert result.returncode == 69 and "REDIS_URL" in result.stderr and "Traceback" not in result.stderr
        cluster.state_url = ""
        result = cluster.enqueue("--shards", "2")
        assert result.returncode == 66 and "STATE_URL" in result.stderr


def test_a_backfill_is_shared_by_workers_one_job_per_warc_file(
    tmp_path: Path, fleet_site: Site, redis: Redis, pg_url: str, corpus_available: None
) -> None:
    from datetime import UTC, datetime

    from tests.site.archives import Capture, WarcBuilder
    from tests.site.bulk import corpus_pool

    pages = corpus_pool(12)
    sources_yaml = (
        "sources:\n"
        "  - name: pravda\n    feeds: [https://www.pravda.com.ua/rss/]\n    allowed_domains: [pravda.com.ua]\n"
        "  - name: ria\n    feeds: [https://ria.ru/export/rss2/index.xml]\n    allowed_domains: [ria.ru]\n"
    )
    urls = [f"https://www.pravda.com.ua/news/{n}/" if n % 2 else f"https://ria.ru/2026/{n}.html" for n in range(12)]
    files = []
    for part in range(3):
        builder = WarcBuilder()
        for n in range(part * 4, part * 4 + 4):
            builder.add(Capture(urls[n], pages[n], datetime(2026, 11, 2 + part, tzinfo=UTC)))
        builder.add(Capture(urls[(part * 4 + 5) % 12], pages[(part * 4 + 5) % 12], datetime(2026, 11, 9, tzinfo=UTC)))
        files.append(str(builder.write(tmp_path / f"part{part}.warc.gz")))
    cluster = Cluster(tmp_path, fleet_site, redis, pg_url, sources_yaml)
    try:
        cluster.start_worker()
        cluster.start_worker()
        run = cluster.sources("backfill", "--warc", *files, "--enqueue", "--wait")
        assert run.returncode == EXIT_OK, run.stderr[-3000:] + cluster.logs()
        [manifest] = cluster.manifests()
        assert manifest["summary"]["archives"]["files"]["read"] == 3 and len(manifest["shards"]) == 3
        records = cluster.records(manifest)
        assert Counter(r["url"] for r in records) == Counter(urls), "each article once, across files and shards"
        assert all(r["discovered_via"]["kind"] == "archive" for r in records)
        assert sum(f["emitted"] for f in manifest["summary"]["sources"].values()) == 12

        again = cluster.sources("backfill", "--warc", *files, "--enqueue", "--wait")
        assert again.returncode == EXIT_OK, again.stderr[-3000:] + cluster.logs()
        latest = cluster.manifests()[-1]
        assert latest["run_id"] != manifest["run_id"] and cluster.records(latest) == []
        assert latest["summary"]["archives"]["files"]["done_before"] == 3
    finally:
        cluster.stop()
