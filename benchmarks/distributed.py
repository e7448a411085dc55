"""Runs over several processes, measured on this machine: prints a table of wall times.

    python benchmarks/distributed.py                # all three comparisons
    python benchmarks/distributed.py --skip many    # without the 1,000-source case

* 2 workers against 1 worker (EXTRACTION_WORKERS=1 each), 20 sites x 100 articles;
* a 1-shard distributed run against a plain ``scrapy crawl sources`` on the same sites;
* 1,000 small sites of 5 articles each: wall time, and the overhead per source of the
  distributed machinery against a plain crawl.

Real redis-server and PostgreSQL are started for it (tests/servers.py) and the sites are
served on loopback through one HTTP server acting as their proxy (tests/site/fleet.py).
Each measurement starts from an empty database, so every article is fetched and extracted.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import FAST  # noqa: E402
from tests.servers import Postgres, Redis, postgres_server, redis_server  # noqa: E402
from tests.site.fleet import Fleet  # noqa: E402
from tests.site.server import Site  # noqa: E402

_COUNTER = iter(range(1_000_000))


def _busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


CPU: dict[str, float] = {}


def _measured(label: str, begin: tuple[float, float]) -> None:
    busy, total = _busy()
    CPU[label] = (busy - begin[0]) / max(total - begin[1], 1) * 100


def _env(site: Site) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "SCRAPY_SETTINGS_MODULE": "crawler.settings",
        "http_proxy": site.proxy, "no_proxy": "127.0.0.1,localhost",
    }  # fmt: skip


def _settings(workdir: Path, state_url: str, redis: Redis, extraction: int) -> list[str]:
    pairs = [FAST[i : i + 2] for i in range(0, len(FAST), 2)]
    fast = [arg for pair in pairs if not pair[1].startswith("EXTRACTION_WORKERS") for arg in pair]
    return [
        "-s", f"SOURCES_FILE={workdir / 'sources.yaml'}", "-s", f"STATE_DB={workdir / 'state.sqlite3'}",
        "-s", f"STATE_URL={state_url}", "-s", f"REDIS_URL={redis.url}", "-s", "TRANSLATION_PROVIDER=none",
        "-s", "LOG_LEVEL=WARNING", "-s", f"EXTRACTION_WORKERS={extraction}", "-s", "RUN_HEARTBEAT_SECONDS=2",
        *fast,
    ]  # fmt: skip


def _workdir(fleet: Fleet) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="distributed-bench-"))
    (workdir / "sources.yaml").write_text(fleet.sources_yaml(), encoding="utf-8")
    return workdir


def distributed(site: Site, fleet: Fleet, pg: Postgres, redis: Redis, workers: int, shards: int) -> float:
    """Wall time of ``enqueue --wait`` with ``workers`` workers already waiting."""
    workdir = _workdir(fleet)
    url = pg.create_database(f"bench_{os.getpid()}_{next(_COUNTER)}")
    settings = _settings(workdir, url, redis, extraction=1)
    env = _env(site)
    worker = [sys.executable, "-m", "scrapy", "sources", "worker", "-s", f"REDIS_URL={redis.url}",
              "-s", "RUN_HEARTBEAT_SECONDS=2", "-s", "EXTRACTION_WORKERS=1"]  # fmt: skip
    quiet = {"cwd": workdir, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen(worker, **quiet) for _ in range(workers)]
    try:
        time.sleep(2.0)  # the workers are up and waiting, as they are before cron fires
        command = ["sources", "enqueue", "--shards", str(shards), "--wait", *settings]
        return _timed(f"distributed {workers} {shards} {fleet.count}", command, workdir, env)
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
        for worker in started:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


def plain(site: Site, fleet: Fleet) -> float:
    """Wall time of a plain ``scrapy crawl sources`` (SQLite state) over the same sites."""
    workdir = _workdir(fleet)
    settings = _settings(workdir, "", Redis(0, 0), extraction=1)
    return _timed(f"plain {fleet.count}", ["crawl", "sources", *settings], workdir, _env(site))


def _timed(label: str, command: list[str], workdir: Path, env: dict[str, str]) -> float:
    """Wall time of ``scrapy COMMAND``, with the machine's CPU use kept under ``label``."""
    cpu = _busy()
    begin = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", *command], cwd=workdir, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - begin
    _measured(label, cpu)
    if result.returncode != 0:
        raise SystemExit(f"scrapy {command[0]} exited {result.returncode}: {result.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", default="", help="comma-separated: scale, overhead, many")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (the best is kept)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    rows: list[tuple[str, str, str]] = []
    with postgres_server() as pg, redis_server() as redis, Site() as site:
        fleet = Fleet(site, sources=20, articles=100)
        pages = 20 * 100

        def best(measure) -> float:
            return min(measure() for _ in range(args.repeat))

        if "scale" not in skip:
            one = best(lambda: distributed(site, fleet, pg, redis, workers=1, shards=2))
            two = best(lambda: distributed(site, fleet, pg, redis, workers=2, shards=2))
            rows += [("1 worker, 2 shards, 20 x 100", f"{one:.1f} s", f"{pages / one:.0f} pages/s"),
                     ("2 workers, 2 shards, 20 x 100", f"{two:.1f} s", f"{pages / two:.0f} pages/s"),
                     ("speed-up, 2 workers / 1", f"{one / two:.2f}x", "target >= 1.3x")]  # fmt: skip
        if "overhead" not in skip:
            crawl = best(lambda: plain(site, fleet))
            shard = best(lambda: distributed(site, fleet, pg, redis, workers=1, shards=1))
            rows += [("plain scrapy crawl sources, 20 x 100", f"{crawl:.1f} s", f"{pages / crawl:.0f} pages/s"),
                     ("1 shard, 1 worker, 20 x 100", f"{shard:.1f} s", f"{pages / shard:.0f} pages/s"),
                     ("overhead of 1 shard", f"{(shard / crawl - 1) * 100:+.0f} %", "target <= 15 %")]  # fmt: skip
        if "many" not in skip:
            many = Fleet(site, sources=1000, articles=5)
            crawl = best(lambda: plain(site, many))
            wide = best(lambda: distributed(site, many, pg, redis, workers=2, shards=8))
            narrow = best(lambda: distributed(site, many, pg, redis, workers=1, shards=1))
            rows += [("plain crawl, 1,000 x 5", f"{crawl:.1f} s", f"{5000 / crawl:.0f} pages/s"),
                     ("2 workers, 8 shards, 1,000 x 5", f"{wide:.1f} s", f"{5000 / wide:.0f} pages/s"),
                     ("1 shard, 1 worker, 1,000 x 5", f"{narrow:.1f} s", f"{5000 / narrow:.0f} pages/s"),
                     ("scheduling overhead per source", f"{(narrow - crawl) / 1000 * 1000:.1f} ms",
                      "(1 shard - plain) / 1,000")]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    print(f"{'measurement'.ljust(width)}  {'wall':>9}  note")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>9}  {note}")
    print("\nmachine CPU busy during each measurement (2 cores = 100 %):")
    for label, share in CPU.items():
        print(f"  {label:28} {share:5.0f} %")


if __name__ == "__main__":
    main()
