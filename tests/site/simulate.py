"""Run the crawler over a changing site many times, as cron would, and report what happened.

    python -m tests.site.simulate --runs 14 --workdir /tmp/sim [--shapes abcdefgh]

One process serves the timeline site (tests/site/timeline.py) and runs the
crawls one after another in one reactor, with the project's own settings and a
state database that persists between runs; between two crawls the clock moves on
(8 hours by default). The process runs under libfaketime (tests/site/clock.py; it
starts itself again under it when needed), so the crawler and the site share that
clock: revisit intervals, retry pauses and backfill windows see the simulated days.
Starting a process per run would cost a second or two of imports each; the crawls
themselves are the same as `scrapy crawl sources` (the command's own checks are
tested elsewhere).

The report (``report.json`` in the work directory) holds the site's ground
truth, every record of every run and every request the site saw; the tests
judge it, and ``--table`` prints the per-shape figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scrapy.utils.reactor import install_reactor

install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")

from scrapy.crawler import CrawlerRunner  # noqa: E402
from scrapy.utils.log import configure_logging  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402

from tests.site.clock import faketime_env, libfaketime, set_clock  # noqa: E402
from tests.site.server import Site  # noqa: E402
from tests.site.timeline import Timeline  # noqa: E402

RECORD_FIELDS = ("id", "source", "url", "canonical_url", "title", "revision", "language", "discovered_via")


def crawl_settings(workdir: Path, run: int, sources: Path, extra: dict[str, Any]) -> Any:
    settings = get_project_settings()
    settings.setdict(
        {
            "SOURCES_FILE": str(sources),
            "STATE_DB": str(workdir / "state.sqlite3"),
            "FEEDS": {str(workdir / f"run-{run:02d}.jsonl"): {"format": "jsonlines", "overwrite": True}},
            "TRANSLATION_PROVIDER": "none",
            "EXTRACTION_WORKERS": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
            # The simulated weeks judge discovery and capture, where any download not announced
            # is needless; checks of delivered articles are judged by tests/site/evidence.py.
            "REVISIT_AFTER": "",
            **extra,
        },
        priority="cmdline",
    )
    return settings


@defer.inlineCallbacks
def simulate(timeline: Timeline, site: Site, workdir: Path, runs: int, extra: dict[str, Any]) -> Any:
    report: dict[str, Any] = {"runs": []}
    sources = workdir / "sources.yaml"
    try:
        for run in range(runs):
            timeline.tick()
            set_clock(Path(os.environ["FAKETIME_TIMESTAMP_FILE"]), timeline.now, wait=True)
            sources.write_text(timeline.sources_yaml(), encoding="utf-8")
            site.reset_hits()
            runner = CrawlerRunner(crawl_settings(workdir, run, sources, extra))
            crawler = runner.create_crawler("sources")
            yield runner.crawl(crawler)
            output = workdir / f"run-{run:02d}.jsonl"
            lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
            records = [{key: json.loads(line).get(key) for key in RECORD_FIELDS} for line in lines]
            stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}
            hits = [[hit.method, hit.path, sorted(hit.headers)] for hit in site.hits]
            report["runs"].append({"run": run, "records": records, "hits": hits, "stats": stats})
        report["events"] = [asdict(event) for event in timeline.events]
        report["shapes"] = {shape.key: shape.name for shape in timeline.shapes}
        report["sources_yaml"] = timeline.sources_yaml()
        (workdir / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    finally:
        reactor.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=14)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--shapes", default="abcdefgh")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for every crawl")
    parser.add_argument("--table", action="store_true", help="print the per-shape figures afterwards")
    parser.add_argument("--hours", type=float, default=8, help="simulated hours between two runs")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if "FAKETIME_TIMESTAMP_FILE" not in os.environ:
        _under_faketime(args.workdir, sys.argv[1:] if argv is None else argv)
    configure_logging({"LOG_LEVEL": "WARNING"}, install_root_handler=True)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    extra = dict(item.split("=", 1) for item in args.set)
    with Site() as site:
        timeline = Timeline(site, shapes=args.shapes, hours=args.hours)
        reactor.callWhenRunning(simulate, timeline, site, args.workdir, args.runs, extra)
        reactor.run()
    report = args.workdir / "report.json"
    if not report.exists():
        print("the simulation did not finish", file=sys.stderr)
        return 1
    if args.table:
        from tests.site.capture import format_capture_table, judge

        print(format_capture_table(judge(json.loads(report.read_text(encoding="utf-8")))))
    return 0


def _under_faketime(workdir: Path, argv: list[str]) -> None:
    """Start this program again with libfaketime preloaded, its clock read from a file."""
    library = libfaketime()
    if library is None:
        raise SystemExit("the simulation needs libfaketime (apt-get install faketime)")
    clock = workdir / "clock"
    set_clock(clock, Timeline.START)
    env = {**os.environ, **faketime_env(clock, library)}
    os.execve(sys.executable, [sys.executable, "-m", "tests.site.simulate", *argv], env)


if __name__ == "__main__":
    sys.exit(main())
