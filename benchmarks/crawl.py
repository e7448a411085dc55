"""Crawl throughput on this machine, against trafilatura's own feed crawler and a bare loop.

Usage: python benchmarks/crawl.py [--sizes 100,300,1000,3000] [--repeat 2] [--workers -1] [--set NAME=VALUE]
                                 [--stages]

For each N, a loopback site (a child process) serves N real corpus pages under
distinct URLs behind one RSS feed; then, in one run:

  (d1) the bare single-process loop trafilatura.extract(html, output_format="json",
       with_metadata=True) over the same N pages (no network);
  (a)  `scrapy crawl sources` over the feed, translation off;
  (b)  the same with a zero-latency loopback translation provider (Google's API);
  (c)  trafilatura's feed crawler, `trafilatura --feed URL --json`, politeness
       sleep 0 and SSRF guard off (it needs the site on port 80: run as root);
  (d2) the bare loop again: the machine drifts, so (a) is compared with the better.

With --stages, (a) runs once more under py-spy, and a table gives its CPU by stage
(benchmarks/stages.py): download and scheduling, the hand-off to workers, extraction,
language detection, fingerprint, pipelines, state, export and the site server.

Each is a separate process tree, measured for wall time, CPU seconds (user+system
of the tree) and peak PSS summed over the tree. Pages/s = pages / wall time,
start-up included for (a)-(c).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stages import print_table, profile  # noqa: E402
from tests.conftest import crawl_command  # noqa: E402
from tests.site.bulk import corpus_pool, serve_bulk_site  # noqa: E402
from tests.site.procstat import PeakMemory  # noqa: E402

BARE_LOOP = """
import pickle, time, trafilatura
pool = pickle.load(open({pages!r}, "rb"))
pages = [pool[i % len(pool)] for i in range({count})]
started = time.perf_counter()
for html in pages:
    trafilatura.extract(html, output_format="json", with_metadata=True)
print(time.perf_counter() - started)
"""


def measure(command: list[str], cwd: Path = ROOT) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak PSS MiB, stdout) of a command's process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(process.pid, interval=0.05) as peak:
        stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        print(stderr[-2000:], file=sys.stderr)
    return wall, peak.cpu, peak.kib / 1024, stdout


def bare_loop(count: int, pages: Path) -> tuple[float, float, float]:
    _, cpu, pss, stdout = measure([sys.executable, "-c", BARE_LOOP.format(pages=str(pages), count=count)])
    loop_seconds = float(stdout.strip().splitlines()[-1])
    return loop_seconds, cpu, pss


def crawl_args_for(tmp: Path, info: dict, workers: int, translation_url: str | None, extra: list[str]) -> list[str]:
    """The crawl's command line: default settings but politeness (the site is ours), stories on."""
    output = tmp / "out.jsonl"
    state = tmp / f"state-{time.monotonic_ns()}.sqlite3"
    command = crawl_command(tmp, info["feed"], fast=False, state=state)
    command += ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32"]
    command += ["-s", f"EXTRACTION_WORKERS={workers}", "-s", "LOG_LEVEL=WARNING", "-O", str(output)]
    if translation_url:
        command += ["-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={translation_url}"]
    else:
        command += ["-s", "TRANSLATION_PROVIDER=none"]
    for setting in extra:
        command += ["-s", setting]
    return command


def scrapy_crawl(
    tmp: Path, info: dict, count: int, workers: int, translation_url: str | None, extra: list[str]
) -> tuple[float, float, float, int]:
    output = tmp / "out.jsonl"
    output.unlink(missing_ok=True)
    command = crawl_args_for(tmp, info, workers, translation_url, extra)
    wall, cpu, pss, _ = measure(command)
    items = len(output.read_text(encoding="utf-8").splitlines()) if output.exists() else 0
    return wall, cpu, pss, items


def trafilatura_feed(tmp: Path, info: dict) -> tuple[float, float, float, int] | None:
    if ":" in info["feed_url"].split("//", 1)[1].split("/", 1)[0]:
        return None  # not on port 80: trafilatura refuses the URL
    config = tmp / "trafilatura.cfg"
    config.write_text("[DEFAULT]\nSLEEP_TIME = 0\nSSRF_PROTECTION = off\n", encoding="utf-8")
    trafilatura = Path(sys.executable).with_name("trafilatura")
    wall, cpu, pss, stdout = measure(
        [str(trafilatura), "--feed", info["feed_url"], "--json", "--config-file", str(config)]
    )
    return wall, cpu, pss, len(stdout.splitlines())


def serve_translator() -> tuple[object, str]:
    import multiprocessing

    from benchmarks.translation import serve

    urls: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=serve, args=(0.0, urls, stop), daemon=True)
    process.start()
    return (process, stop), urls.get(timeout=30) + "/m"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000,3000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=-1, help="EXTRACTION_WORKERS for (a) and (b)")
    parser.add_argument("--pool", type=int, default=300, help="distinct corpus pages")
    parser.add_argument("--skip", default="", help="comma-separated of a,b,c,d to leave out")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for (a) and (b)")
    parser.add_argument("--stages", action="store_true", help="also run (a) once under py-spy: CPU by stage")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    skip = set(args.skip.split(","))
    pages = Path(tempfile.mkdtemp()) / "pages.pickle"
    pages.write_bytes(pickle.dumps(corpus_pool(args.pool)))  # the same pages the site serves
    (_, stop), translation_url = serve_translator() if "b" not in skip else ((None, None), None)
    results: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
    try:
        for repeat in range(1, args.repeat + 1):
            for count in sizes:
                process, control, info = serve_bulk_site(count, args.pool, port=80)
                row: dict[str, float] = {}
                with tempfile.TemporaryDirectory() as directory:
                    tmp = Path(directory)
                    if "d" not in skip:
                        loop, cpu, pss = bare_loop(count, pages)
                        row.update(d1=count / loop, d1_cpu=cpu, d1_pss=pss)
                    if "a" not in skip:
                        wall, cpu, pss, items = scrapy_crawl(tmp, info, count, args.workers, None, args.set)
                        row.update(a=count / wall, a_cpu=cpu, a_pss=pss, a_items=items, a_wall=wall)
                    if args.stages:
                        command = crawl_args_for(tmp, info, args.workers, None, args.set)
                        samples = profile(command, process.pid, ROOT)
                        if samples is not None:
                            print_table(samples, count)
                    if "b" not in skip:
                        wall, cpu, pss, items = scrapy_crawl(tmp, info, count, args.workers, translation_url, args.set)
                        row.update(b=count / wall, b_cpu=cpu, b_pss=pss, b_items=items)
                    if "c" not in skip:
                        measured = trafilatura_feed(tmp, info)
                        if measured:
                            wall, cpu, pss, items = measured
                            row.update(c=count / wall, c_cpu=cpu, c_pss=pss, c_items=items)
                    if "d" not in skip:
                        loop, cpu, pss = bare_loop(count, pages)
                        row.update(d2=count / loop)
                control.send("stop")
                process.join(timeout=10)
                results[count].append(row)
                print(f"# run {repeat}, N={count}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)
    finally:
        if stop is not None:
            stop.set()  # type: ignore[attr-defined]
    print()
    header = ["N", "run", "(a) crawl p/s", "(b) +translation p/s", "(c) trafilatura --feed p/s"]
    header += [
        "(d) bare loop p/s (before/after)",
        "(a)/(c)",
        "(a)/(d best)",
        "CPU s a / c / d",
        "peak PSS MiB a / b / c / d",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for count in sizes:
        for index, row in enumerate(results[count], 1):
            get = row.get
            best_d = max(get("d1", 0), get("d2", 0))
            ratio_c = get("a", 0) / get("c", 0) if get("c") else float("nan")
            ratio_d = get("a", 0) / best_d if best_d else float("nan")
            cells = [
                str(count),
                str(index),
                f"{get('a', 0):.1f} ({get('a_items', 0):.0f} items)",
                f"{get('b', 0):.1f}",
                f"{get('c', 0):.1f} ({get('c_items', 0):.0f})",
                f"{get('d1', 0):.1f} / {get('d2', 0):.1f}",
                f"{ratio_c:.2f}",
                f"{ratio_d:.2f}",
                f"{get('a_cpu', 0):.1f} / {get('c_cpu', 0):.1f} / {get('d1_cpu', 0):.1f}",
                f"{get('a_pss', 0):.0f} / {get('b_pss', 0):.0f} / {get('c_pss', 0):.0f} / {get('d1_pss', 0):.0f}",
            ]
            print("| " + " | ".join(cells) + " |")
    if len(sizes) > 1 and all(results[n] for n in sizes):
        print()
        rates = {n: statistics.mean(r["a"] for r in results[n]) for n in sizes}
        print("pages/s of (a) by N: " + ", ".join(f"{n}: {rate:.1f}" for n, rate in rates.items()))
        if 1000 in rates and 3000 in rates:
            print(f"N=3000 vs N=1000: {100 * (rates[3000] / rates[1000] - 1):+.1f} %")
    if args.repeat > 1:
        for count in sizes:
            for key in ("a", "c", "d1"):
                values = [r[key] for r in results[count] if key in r]
                if len(values) > 1:
                    spread = 100 * (max(values) - min(values)) / statistics.mean(values)
                    low, high = min(values), max(values)
                    print(f"spread N={count} ({key}): min {low:.1f}, max {high:.1f}, {spread:.0f} % of the mean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
