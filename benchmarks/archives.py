"""A backfill from web archives against fundus and news-please, on the same WARC files.

Usage: python benchmarks/archives.py [--records 5000] [--share 0.2] [--files 10] [--pages fundus|cyrillic]
                                     [--peers-python /tmp/peers/bin/python] [--skip fundus,newsplease]

Builds ``--records`` WARC response records (gzip member per record, as CC-NEWS has them) in
``--files`` CC-NEWS-named files with a monthly listing, served by ``python -m http.server`` on
loopback (a process of its own). About ``--share`` of them are pages of the configured sources
(``--pages fundus``: the corpus's fundus pages, sites fundus has a parser for; ``cyrillic``: its
Ukrainian and Russian pages, the outlets this crawler is for), at their own URLs (each copy at
a distinct URL, its canonical link removed, so every one is an article of its own); the rest
are the corpus's other pages, at their own sites. Then, one after the other, each reading
all the files with two processes:

  (ours)        scrapy sources backfill --warc URL…, one source per publisher host, stories on,
                translation off;
  (fundus)      CCNewsCrawler(*those publishers, processes=2, server_address=the loopback
                host).crawl(only_complete=False, only_unique=False), as its users run it;
  (news-please) its commoncrawl path: warcio over each file, response records of those hosts
                (its own host filter), NewsPlease.from_warc(record), two processes.

The peers run from ``--peers-python``, a separate environment
(``python -m venv /tmp/peers && /tmp/peers/bin/pip install fundus news-please``): they are not
dependencies of the project. Each is a separate process tree, measured for wall time, CPU
and peak PSS summed over the tree. Records/s = records in the files / wall time; articles/s =
articles with a text / wall time, start-up included.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port  # noqa: E402
from tests.site.corpus import corpus_dir  # noqa: E402
from tests.site.procstat import PeakMemory  # noqa: E402

_CANONICAL = re.compile(rb"<link[^>]+rel=[\"']?canonical[^>]*>|<meta[^>]+property=[\"']og:url[^>]*>", re.IGNORECASE)
MONTH = datetime(2026, 11, 1, tzinfo=UTC)

FUNDUS = """
import sys, time
from datetime import datetime
from urllib.parse import urlparse
from fundus import CCNewsCrawler, PublisherCollection
hosts = set(sys.argv[2].split(","))
publishers = [p for p in PublisherCollection if urlparse(p.domain).netloc in hosts
              or any(urlparse(d).netloc in hosts for d in p.deprecated_domains)]
crawler = CCNewsCrawler(*publishers, start=datetime(2026, 11, 1), end=datetime(2026, 11, 28), processes=2,
                        disable_tqdm=True, server_address=sys.argv[1])
texts = total = 0
for article in crawler.crawl(only_complete=False, only_unique=False):
    total += 1
    texts += bool(str(article.body or "").strip())
print(len(publishers), total, texts)
"""

NEWS_PLEASE = """
import sys, multiprocessing, requests
from urllib.parse import urlparse
from warcio.archiveiterator import ArchiveIterator

def one(args):
    url, hosts = args
    from newsplease import NewsPlease
    total = texts = 0
    with requests.get(url, stream=True) as response:
        for record in ArchiveIterator(response.raw):
            if record.rec_type != "response":
                continue
            if urlparse(record.rec_headers.get_header("WARC-Target-URI")).netloc not in hosts:
                continue
            total += 1
            try:  # as its commoncrawl extractor with continue_after_error: a failed record is skipped
                article = NewsPlease.from_warc(record, fetch_images=False)
            except Exception:
                continue
            texts += bool((article.maintext or "").strip())
    return total, texts

if __name__ == "__main__":
    hosts = set(sys.argv[2].split(","))
    urls = sys.argv[3:]
    with multiprocessing.Pool(2) as pool:
        done = pool.map(one, [(url, hosts) for url in urls], chunksize=1)
    print(len(urls), sum(t for t, _ in done), sum(x for _, x in done))
"""


def _pages(kind: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(url, page) of the sources' pages and of the other article pages: the corpus's fundus
    pages (sites fundus has parsers for), or its Ukrainian and Russian ones (the product's)."""
    base = corpus_dir() / "articles"
    rows = [json.loads(line) for line in (base / "INDEX.jsonl").read_text(encoding="utf-8").splitlines()]
    ours, others = [], []
    for row in rows:
        if not (row.get("url") or "").startswith("http"):
            continue
        data = (base / row["file"]).read_bytes()
        page = gzip.decompress(data) if row["file"].endswith(".gz") else data
        mine = row["collection"] == "fundus" if kind == "fundus" else row["lang_heuristic"] in ("uk", "ru")
        (ours if mine else others).append((row["url"], page))
    return ours, others


def build(
    workdir: Path, records: int, share: float, files: int, kind: str = "fundus"
) -> tuple[list[str], set[str], int]:
    """The CC-NEWS-shaped tree under ``workdir``; (file paths under it, source hosts, records)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    ours, others = _pages(kind)
    wanted = round(records * share)
    plan = [(True, n) for n in range(wanted)] + [(False, n) for n in range(records - wanted)]
    plan.sort(key=lambda entry: (entry[1] * 7919 + entry[0]) % records)  # interleaved, as an archive has them
    per_file = -(-len(plan) // files)
    month = workdir / "crawl-data" / "CC-NEWS" / "2026" / "11"
    month.mkdir(parents=True)
    names, hosts = [], set()
    for part in range(files):
        started = MONTH + timedelta(days=1, hours=6 * part)
        name = f"CC-NEWS-{started.strftime('%Y%m%d%H%M%S')}-{part:05d}.warc.gz"
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        for number, (mine, n) in enumerate(plan[part * per_file : (part + 1) * per_file]):
            url, page = (ours if mine else others)[n % len(ours if mine else others)]
            if mine:
                hosts.add(urlsplit(url).netloc)
                page = _CANONICAL.sub(b"", page)
                url = f"{url}{'&' if '?' in url else '?'}copy={n}"
            elif n >= len(others):
                url = f"{url}{'&' if '?' in url else '?'}copy={n}"
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            stamp = (started + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(page), http_headers=http,
                                               warc_headers_dict={"WARC-Date": stamp})  # fmt: skip
            writer.write_record(record)
        (month / name).write_bytes(buffer.getvalue())
        names.append(f"crawl-data/CC-NEWS/2026/11/{name}")
    (month / "warc.paths.gz").write_bytes(gzip.compress(("\n".join(names) + "\n").encode()))
    return names, hosts, len(plan)


def measure(command: list[str], cwd: Path = ROOT) -> tuple[float, float, float, str, str]:
    """(wall s, CPU s, peak PSS MiB, stdout, stderr) of a command's process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(process.pid, interval=0.05) as peak:
        stdout, stderr = process.communicate()
    return time.perf_counter() - started, peak.cpu, peak.kib / 1024, stdout, stderr


def ours(tmp: Path, base: str, names: list[str], hosts: set[str]) -> tuple[float, float, float, int]:
    sources = "sources:\n" + "".join(
        f"  - name: s{n}\n    feeds: [https://{host}/feed]\n    allowed_domains: [{host}]\n"
        for n, host in enumerate(sorted(hosts))
    )
    (tmp / "sources.yaml").write_text(sources, encoding="utf-8")
    output = tmp / "ours.jsonl"
    command = [sys.executable, "-m", "scrapy", "sources", "backfill", "--warc", *(f"{base}/{name}" for name in names),
               "-s", f"SOURCES_FILE={tmp / 'sources.yaml'}", "-s", f"STATE_DB={tmp / 'state.sqlite3'}",
               "-s", "TRANSLATION_PROVIDER=none", "-s", "LOG_LEVEL=WARNING",
               "-s", f'FEEDS={{"{output}": {{"format": "jsonlines"}}}}']  # fmt: skip
    wall, cpu, pss, _, stderr = measure(command)
    articles = sum(1 for line in output.read_text(encoding="utf-8").splitlines() if json.loads(line)["text"])
    if not articles:
        print(stderr[-3000:], file=sys.stderr)
    return wall, cpu, pss, articles


def peer(python: str, script: str, *args: str) -> tuple[float, float, float, list[int]]:
    wall, cpu, pss, stdout, stderr = measure([python, "-c", script, *args])
    try:
        figures = [int(x) for x in stdout.strip().splitlines()[-1].split()]
    except (IndexError, ValueError):
        print(stderr[-3000:], file=sys.stderr)
        figures = [0, 0, 0]
    return wall, cpu, pss, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--peers-python", default="/tmp/peers/bin/python")
    parser.add_argument("--skip", default="")
    parser.add_argument(
        "--pages",
        choices=["fundus", "cyrillic"],
        default="fundus",
        help="the sources' pages: fundus's publishers, or the corpus's Ukrainian and Russian pages",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as workdir:
        tmp = Path(workdir)
        names, hosts, records = build(tmp / "data", args.records, args.share, args.files, args.pages)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", str(tmp / "data")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        time.sleep(1)
        size = sum(f.stat().st_size for f in (tmp / "data").rglob("*.warc.gz")) / 2**20
        print(f"{records} records ({round(records * args.share)} of {len(hosts)} source hosts) in {len(names)} "
              f"files, {size:.0f} MiB, served on loopback")  # fmt: skip
        rows = []
        try:
            if "ours" not in skip:
                wall, cpu, pss, articles = ours(tmp, base, names, hosts)
                rows.append(("sources-crawler backfill", wall, cpu, pss, articles))
            if "fundus" not in skip:
                wall, cpu, pss, figures = peer(args.peers_python, FUNDUS, base + "/", ",".join(sorted(hosts)))
                rows.append((f"fundus CCNewsCrawler ({figures[0]} publishers)", wall, cpu, pss, figures[2]))
            if "newsplease" not in skip:
                urls = [f"{base}/{name}" for name in names]
                wall, cpu, pss, figures = peer(args.peers_python, NEWS_PLEASE, base, ",".join(sorted(hosts)), *urls)
                rows.append(("news-please from_warc", wall, cpu, pss, figures[2]))
        finally:
            server.terminate()
            server.wait()
    print(f"\n{'':<40}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}{'articles':>10}{'records/s':>11}{'articles/s':>12}")
    for name, wall, cpu, pss, articles in rows:
        rates = f"{records / wall:>11.0f}{articles / wall:>12.1f}"
        print(f"{name:<40}{wall:>8.1f}{cpu:>8.1f}{pss:>10.0f}{articles:>10}{rates}")
    if rows and len(rows) > 1:
        best_peer = max(rows[1:], key=lambda row: row[4] / row[1])
        print(f"\nours / faster peer ({best_peer[0]}) in articles/s: "
              f"{(rows[0][4] / rows[0][1]) / max(best_peer[4] / best_peer[1], 1e-9):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
