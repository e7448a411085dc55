"""First run vs second run over an unchanged loopback site, and the state database's size.

Usage: python benchmarks/incremental_runs.py [--pages 1000] [--discovery sitemap|feed]

Serves N real corpus pages (repeated under distinct URLs, canonical links removed)
from a child process behind a sitemap (with lastmod) or an RSS feed, then runs
`scrapy crawl sources` twice against the same STATE_DB (translation off) and
prints wall time, requests, article downloads and items of each run. Finally it
measures the state database per 10,000 articles, from this run and from 10,000
synthetic deliveries.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.state.sqlite_store import StateDB  # noqa: E402
from tests.conftest import crawl_command  # noqa: E402
from tests.site.bulk import serve_bulk_site  # noqa: E402

SETTINGS = [
    "-s", "TRANSLATION_PROVIDER=none", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "LOG_LEVEL=INFO",
]  # fmt: skip


def db_size(path: Path) -> int:
    return sum(
        p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file() and not p.name.endswith(".lock")
    )


def crawl(tmp: Path, sources: Path, state: Path, output: Path) -> tuple[float, int, str]:
    assert sources == tmp / "sources.yaml", "crawl_command reads the sources file from the work directory"
    args = crawl_command(tmp, fast=False, state=state)
    started = time.perf_counter()
    result = subprocess.run([*args, *SETTINGS, "-O", str(output)], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
    items = len(output.read_text(encoding="utf-8").splitlines()) if output.exists() else 0
    return wall, items, result.stderr


def synthetic_size(tmp: Path, count: int = 10_000) -> int:
    path = tmp / "synthetic.sqlite3"
    state = StateDB(path)
    articles, urls = [], []
    for i in range(count):
        article_id = hashlib.blake2b(str(i).encode(), digest_size=10).hexdigest()
        url = f"https://www.example-news.com.ua/news/2025/11/{i:06d}-uriad-ukhvalyv-rishennia-pro-pidtrymku.html"
        articles.append(
            {
                "id": article_id,
                "source": "example",
                "canonical_url": url,
                "content_hash": hashlib.sha256(url.encode()).hexdigest(),
                "revision": 1,
                "translation_status": "translated",
                "retry_record": None,
            }
        )
        urls.append(
            (
                url.split("://", 1)[1].removeprefix("www."),
                article_id,
                {"https://www.example-news.com.ua/rss.xml": "2025-11-24T10:00:00+02:00"},
            )
        )
    state.apply({"now": int(time.time()), "articles": articles, "touched": [], "urls": urls, "validators": []})
    state.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    state.close()
    return db_size(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--discovery", choices=("sitemap", "feed"), default="sitemap")
    args = parser.parse_args()
    process, control, info = serve_bulk_site(args.pages)
    try:
        with tempfile.TemporaryDirectory() as directory:
            tmp = Path(directory)
            sources = tmp / "sources.yaml"
            sources.write_text(info[args.discovery], encoding="utf-8")
            state = tmp / "state.sqlite3"
            rows = []
            for run in ("first", "second"):
                control.send("reset")
                control.recv()
                wall, items, _ = crawl(tmp, sources, state, tmp / f"{run}.jsonl")
                control.send("all_hits")
                requests = control.recv()
                control.send("hits")
                articles = control.recv()
                rows.append((run, wall, requests, articles, items))
            print(f"{args.pages} pages behind a {args.discovery}, translation off, server in its own process")
            print("| run | wall s | requests | article downloads | items |")
            print("|---|---|---|---|---|")
            for run, wall, requests, articles, items in rows:
                print(f"| {run} | {wall:.2f} | {requests} | {articles} | {items} |")
            print(f"second / first wall time: {100 * rows[1][1] / rows[0][1]:.1f} %")
            db = StateDB(state)
            counts = db.counts()
            db.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            size = db_size(state)
            print(
                f"state database after these runs: {size / 1024:.0f} KiB for {counts['articles']} articles ({counts})"
            )
            if counts["articles"]:
                print(f"  = {size / counts['articles'] * 10_000 / 1024 / 1024:.2f} MiB per 10,000 articles (this run)")
            synthetic = synthetic_size(tmp)
            mib = synthetic / 1024 / 1024
            print(f"  10,000 synthetic deliveries (articles + URLs, no cached translations): {mib:.2f} MiB")
    finally:
        control.send("stop")
        process.join(timeout=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
