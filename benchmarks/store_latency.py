"""A run over known links with the PostgreSQL state far away: wall time at 0 ms and at 5 ms.

    python benchmarks/store_latency.py [--delay-ms 5] [--repeat 2]

20 sites x 100 articles (tests/site/fleet.py) are crawled once into a real PostgreSQL
(tests/servers.py), so that every link is known. Then each feed is rebuilt (a new
lastBuildDate, the same items: 2,000 known links to look up) and the run is timed
with STATE_URL pointing at the server directly, and through a loopback TCP proxy that
holds every chunk the server sends for ``--delay-ms`` (5 ms added to each round trip, as
a database in another data centre would). Under STATE_URL, every lookup the spider makes
on the reactor thread is a round trip: the figure shows what reaches the crawl's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import FAST  # noqa: E402
from tests.servers import postgres_server  # noqa: E402
from tests.site.fleet import Fleet  # noqa: E402
from tests.site.server import Site  # noqa: E402


class DelayProxy:
    """Forwards loopback TCP to ``target``; what the server sends is held ``delay`` seconds."""

    def __init__(self, target: tuple[str, int], delay: float):
        self.target, self.delay = target, delay
        # Replies the server sent (chunks held back): about one per round trip.
        self.replies = 0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer, 0.0), self._pipe(up_reader, writer, self.delay))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                if delay:
                    self.replies += 1
                    # Each chunk leaves ``delay`` after it came, in order: a longer wire, not a slower one.
                    loop.call_later(delay, writer.write, data)
                else:
                    writer.write(data)
        except ConnectionError:
            pass
        finally:
            loop.call_later(delay + 0.01, writer.close)


def _crawl(workdir: Path, state_url: str, site: Site) -> float:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "SCRAPY_SETTINGS_MODULE": "crawler.settings",
        "http_proxy": site.proxy, "no_proxy": "127.0.0.1,localhost",
    }  # fmt: skip
    command = [
        sys.executable, "-m", "scrapy", "crawl", "sources", "-s", f"SOURCES_FILE={workdir / 'sources.yaml'}",
        "-s", f"STATE_URL={state_url}", "-s", "TRANSLATION_PROVIDER=none", "-s", "LOG_LEVEL=WARNING", *FAST,
    ]  # fmt: skip
    begin = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - begin
    if result.returncode not in (0, 1):
        raise SystemExit(f"scrapy crawl exited {result.returncode}: {result.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with postgres_server() as pg, Site() as site:
        fleet = Fleet(site, sources=20, articles=100)
        workdir = Path(tempfile.mkdtemp(prefix="store-latency-"))
        (workdir / "sources.yaml").write_text(fleet.sources_yaml(), encoding="utf-8")
        direct = pg.create_database(f"latency_{os.getpid()}")
        parts = urlsplit(direct)
        proxy = DelayProxy((parts.hostname or "127.0.0.1", parts.port or 5432), args.delay_ms / 1000)
        delayed = urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{proxy.port}")))
        first = _crawl(workdir, direct, site)
        fetched = sum(fleet.article_fetches().values())
        print(f"first run: {first:.1f} s, {fetched} article pages fetched")
        rows: dict[str, list[float]] = {"0 ms": [], f"{args.delay_ms:g} ms": []}
        trips: list[int] = []
        for run in range(args.repeat):  # alternately, so the machine's drift falls on both
            for label, url in (("0 ms", direct), (f"{args.delay_ms:g} ms", delayed)):
                # New feeds with the same items: their 2,000 links are read again, and are known.
                fleet.rebuild_feeds(f"run {run} {label}")
                replies = proxy.replies
                rows[label].append(_crawl(workdir, url, site))
                if url == delayed:
                    trips.append(proxy.replies - replies)
        refetched = sum(fleet.article_fetches().values()) - fetched
        best = {label: min(walls) for label, walls in rows.items()}
        print(f"\nunchanged runs over {fleet.count} x {fleet.articles} known links ({refetched} pages fetched again)\n")
        print("| added round-trip delay | wall s (each run) | best | ratio to 0 ms |")
        print("|---|---|---|---|")
        for label, walls in rows.items():
            each = " / ".join(f"{wall:.1f}" for wall in walls)
            print(f"| {label} | {each} | {best[label]:.1f} | {best[label] / best['0 ms']:.2f} |")
        print(f"\nround trips to PostgreSQL in a delayed run (server replies): {' / '.join(map(str, trips))}")


if __name__ == "__main__":
    main()
