"""What evidence costs: requests per new article with revisits on, and disk per 1,000 pages.

Usage: python benchmarks/evidence.py [--pages 1000]

(1) The evidence simulation (tests/site/evidence.py: 14 articles and one more before each later
    run, 14 cron runs in 80 simulated hours, edits and removals without notice), with revisits on (the defaults) and
    off (REVISIT_AFTER=""): article-page requests per new article, what each run found.
(2) A crawl of a loopback site of N real corpus pages (tests/site/bulk.py), with and without
    WARC_DIR: WARC bytes per 1,000 pages, the state's evidence rows per 1,000 articles, and
    the crawl's wall time and CPU with the archive on and off.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.crawl import crawl_args_for, measure  # noqa: E402
from tests.site.bulk import serve_bulk_site  # noqa: E402

# Article pages, and the probes of URLs that cannot exist beside them.
ARTICLE = re.compile(r"/news/politics/.")


def simulation(workdir: Path, *settings: str) -> dict:
    command = [sys.executable, "-m", "tests.site.evidence", "--workdir", str(workdir)]
    for setting in settings:
        command += ["--set", setting]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=600)
    return json.loads((workdir / "report.json").read_text(encoding="utf-8"))


def requests_per_article(report: dict) -> tuple[int, int, int, int]:
    requests = sum(1 for run in report["runs"] for hit in run["hits"] if ARTICLE.search(hit[1]))
    new = sum(1 for run in report["runs"] for r in run["records"] if r["revision"] == 1)
    changes = sum(1 for run in report["runs"] for r in run["records"] if r["revision"] > 1)
    not_modified = sum(run["stats"].get("sources/vesti/revisits/not_modified", 0) for run in report["runs"])
    return requests, new, changes, not_modified


def disk(pages: int) -> None:
    process, control, info = serve_bulk_site(pages)
    try:
        for warc in (False, True):
            with tempfile.TemporaryDirectory() as name:
                tmp = Path(name)
                extra = [f"WARC_DIR={tmp / 'warc'}"] if warc else []
                command = crawl_args_for(tmp, info, -1, None, extra)
                wall, cpu, pss, _ = measure(command)
                records = (tmp / "out.jsonl").read_text(encoding="utf-8").splitlines()
                state = next(tmp.glob("state-*.sqlite3"))
                with sqlite3.connect(state) as db:
                    rows, packed = db.execute(
                        "SELECT COUNT(*), COALESCE(SUM(LENGTH(record)), 0) FROM evidence"
                    ).fetchone()
                size = sum(path.stat().st_size for path in (tmp / "warc").glob("*")) if warc else 0
                per = 1000 / max(len(records), 1)
                print(f"  WARC {'on ' if warc else 'off'}: {len(records)} records, {wall:.1f} s wall, {cpu:.1f} s CPU, "
                      f"{pss:.0f} MiB peak; WARC {size / 1e6 * per:.1f} MB per 1,000 pages; evidence rows "
                      f"{packed / 1e6 * per:.2f} MB per 1,000 articles ({rows} rows); state file "
                      f"{state.stat().st_size / 1e6:.1f} MB")  # fmt: skip
    finally:
        control.send("stop")
        process.join(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="0: the simulation only")
    args = parser.parse_args()
    print("(1) The evidence simulation: 14 articles and one more before each later run, 14 cron runs over 80 h")
    for label, settings in (("revisits on (1h, 6h, 24h, 72h)", ()), ("revisits off", ("REVISIT_AFTER=",))):
        with tempfile.TemporaryDirectory() as name:
            started = time.perf_counter()
            requests, new, changes, not_modified = requests_per_article(simulation(Path(name), *settings))
            print(f"  {label}: {requests} article-page requests for {new} new articles = {requests / new:.2f} per new "
                  f"article ({not_modified} answered 304); {changes} changes reported "
                  f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    if args.pages:
        print(f"(2) A crawl of {args.pages} real pages")
        disk(args.pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
