"""Pages rendered in the browser per second, and its memory, beside plain fetching.

Usage: python benchmarks/render.py [--pages 500] [--repeat 1] [--set NAME=VALUE ...]

A loopback site serves N articles (the corpus's ground-truth texts) twice: as a
single-page app (a shell whose script fetches the article as JSON and builds it) and as
server-rendered pages. Then, one after the other:

  (r) `scrapy crawl sources` over the app with `render: true` (Debian's Chromium through
      scrapy-playwright, default RENDER_* settings);
  (p) the same crawl over the server-rendered pages, plain fetching.

Each crawl is its own process tree (the browser is part of it), measured for wall time,
CPU seconds and peak PSS of the whole tree; for (r) also the peak PSS of the Chromium
processes alone. Politeness is off (the site is ours); extraction runs in the usual
worker processes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import crawl_command  # noqa: E402
from tests.site.procstat import PeakMemory, pss_kib  # noqa: E402
from tests.site.resist import article_html, build_spa_site, rss, spa_articles  # noqa: E402
from tests.site.server import Site  # noqa: E402


def crawl(tmp: Path, yaml: str, extra: list[str]) -> dict[str, float]:
    output = tmp / "out.jsonl"
    output.unlink(missing_ok=True)
    command = crawl_command(tmp, yaml, fast=False, state=tmp / f"state-{time.monotonic_ns()}.sqlite3")
    command += ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32"]
    command += ["-s", "TRANSLATION_PROVIDER=none", "-s", "LOG_LEVEL=WARNING", "-O", str(output)]
    for setting in extra:
        command += ["-s", setting]
    browser_peak = [0]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            browser_peak[0] = max(browser_peak[0], pss_kib(process.pid, named="chrom"))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with PeakMemory(process.pid, interval=0.1) as peak:
        _, stderr = process.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        print(stderr[-3000:], file=sys.stderr)
    pages = len(output.read_text(encoding="utf-8").splitlines()) if output.exists() else 0
    return {"pages": pages, "wall": wall, "cpu": peak.cpu, "pss": peak.kib / 1024, "browser": browser_peak[0] / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a crawl setting")
    args = parser.parse_args()
    articles = spa_articles(args.pages)
    rows = []
    with Site() as site, tempfile.TemporaryDirectory() as workdir:
        spa_feed = build_spa_site(site, articles, prefix="/app")
        for article in articles:
            site.add("/plain" + article.path, article_html(article))
        plain_feed = site.add("/plain/feed.xml", rss(site, ["/plain" + a.path for a in articles]), "text/xml")
        limit = f"    max_articles: {args.pages}\n"
        rendered = f"sources:\n  - name: app\n    feeds: [{spa_feed}]\n    render: true\n{limit}"
        plain = f"sources:\n  - name: plain\n    feeds: [{plain_feed}]\n{limit}"
        for run in range(args.repeat):
            for label, yaml in (("rendered (render: true)", rendered), ("plain fetch", plain)):
                tmp = Path(workdir) / f"{label.split()[0]}-{run}"
                tmp.mkdir()
                rows.append((label, crawl(tmp, yaml, args.set)))
    print(f"\n{args.pages} articles, {time.strftime('%Y-%m-%d %H:%M')}, settings: {' '.join(args.set) or 'defaults'}")
    header = ("crawl", "records", "wall s", "pages/s", "CPU s", "peak PSS MiB", "Chromium MiB")
    print(f"{header[0]:26} {header[1]:>7} {header[2]:>7} {header[3]:>8} {header[4]:>7} {header[5]:>13} {header[6]:>13}")
    for label, row in rows:
        rate = row["pages"] / row["wall"] if row["wall"] else 0
        browser = f"{row['browser']:.0f}" if row["browser"] else "-"
        print(
            f"{label:26} {row['pages']:>7} {row['wall']:>7.1f} {rate:>8.2f} {row['cpu']:>7.1f} "
            f"{row['pss']:>13.0f} {browser:>13}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
