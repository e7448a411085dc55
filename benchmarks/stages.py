"""Where a crawl's CPU goes, by stage: py-spy samples of every process (the crawl, its
extraction workers and the loopback site), each sample put in the stage of the innermost
frame that names one. Used by ``benchmarks/crawl.py --stages``.

Sampling counts running threads only (py-spy without --idle), so a stage's samples divided
by the rate approximate its CPU seconds. Needs py-spy (pip install py-spy) and ptrace
rights (root, or kernel.yama.ptrace_scope=0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

__all__ = ["STAGES", "profile", "stage_table"]

RATE = 200
# Where to keep the crawl's raw samples, for a closer look (python benchmarks/crawl.py --stages).
KEEP = os.environ.get("STAGES_RAW")
# (stage, substrings of a frame's "function (file:line)"), tried innermost frame first.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("site server", ("tests/site/",)),
    ("fingerprint", ("crawler/parsing/fingerprint.py", "xxhash")),
    ("story assignment", ("crawler/stories/",)),
    ("language detection", ("crawler/parsing/language.py", "langdetect", "cyrillic_profiles")),
    ("extraction", ("trafilatura", "justext", "readability", "htmldate", "courlan", "crawler/parsing/")),
    ("worker hand-off", ("crawler/workers/", "multiprocessing/connection", "pickle", "_pickle")),
    ("state", ("crawler/state/", "sqlite3", "psycopg")),
    ("export", ("feedexport", "crawler/output/", "exporters.py")),
    ("translation", ("crawler/translation/",)),
    ("pipelines", ("crawler/pipelines.py", "crawler/items.py", "itemadapter")),
    ("spider (discovery, requests)", ("crawler/spiders/", "crawler/parsing/feeds.py", "crawler/frontier/")),
    ("Scrapy download and scheduling", ("scrapy/", "twisted/", "asyncio", "h2/", "OpenSSL", "crawler/net/", "w3lib")),
    ("start-up (imports, warm-up)", ("<frozen importlib", "_find_and_load")),
]


def _stage(frames: list[str]) -> str:
    # The forkserver's warm-up (trafilatura on sample pages, language models) is start-up, once a run.
    if any("preload.py" in frame for frame in frames):
        return "start-up (imports, warm-up)"
    for frame in reversed(frames):  # innermost last in py-spy's raw format
        for stage, needles in STAGES:
            if any(needle in frame for needle in needles):
                return stage
    return "other"


def stage_table(raw: str) -> Counter[str]:
    """Samples per stage from py-spy's raw (collapsed) output: "frame;frame;… count" lines."""
    samples: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            # The first frame is "process <pid>:…" with --subprocesses: keep the python frames.
            samples[_stage(frames[1:] if frames[0].startswith("process") else frames)] += int(count)
    return samples


def profile(command: list[str], site_pid: int, cwd: Path) -> Counter[str] | None:
    """Run ``command`` under py-spy (with its subprocesses) while sampling the site too."""
    spy = shutil.which("py-spy")
    if spy is None:
        print("(py-spy not installed: pip install py-spy for the stage table)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        crawl_raw, site_raw = Path(tmp) / "crawl.txt", Path(tmp) / "site.txt"
        site = subprocess.Popen(
            [spy, "record", "--nonblocking", "--pid", str(site_pid), "--format", "raw", "--rate", str(RATE),
             "-o", str(site_raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [spy, "record", "--nonblocking", "--subprocesses", "--format", "raw", "--rate", str(RATE),
             "-o", str(crawl_raw), "--",
             *command],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        site.terminate()
        site.wait(timeout=30)
        if KEEP:
            shutil.copy(crawl_raw, KEEP)
        samples = stage_table(crawl_raw.read_text(encoding="utf-8") if crawl_raw.exists() else "")
        site_samples = stage_table(site_raw.read_text(encoding="utf-8") if site_raw.exists() else "")
    samples["site server"] += sum(site_samples.values())
    return samples


def print_table(samples: Counter[str], pages: int) -> None:
    total = sum(samples.values()) or 1
    print(f"\nCPU by stage (py-spy at {RATE} Hz over every process; {pages} pages):\n")
    print("| stage | CPU s | ms per page | share |")
    print("|---|---|---|---|")
    for stage, count in samples.most_common():
        seconds = count / RATE
        print(f"| {stage} | {seconds:.2f} | {1000 * seconds / pages:.2f} | {100 * count / total:.0f} % |")
    print(f"| total | {total / RATE:.2f} | {1000 * total / RATE / pages:.2f} | 100 % |")
