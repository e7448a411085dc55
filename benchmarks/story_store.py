"""What stored story fingerprints cost: disk, lookup time and memory (used by story_clustering.py).

    python benchmarks/story_store.py [--stored 100000]

``--stored`` fingerprints go into a fresh SQLite state store through the run delivery's
own ``apply``; they are random signatures, which is what distinct texts look like to LSH.
The real articles given then look their story up against that store, as a run's would.
For comparison, the same fingerprints in datasketch's in-memory MinHashLSH, where installed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.parsing.article import Article
from crawler.parsing.fingerprint import NUM_PERM, OPH_SCHEME, SEED, THRESHOLD, band_keys, fingerprint
from crawler.parsing.urls import article_id
from crawler.state.rows import encode_print
from crawler.state.sqlite_store import StateDB
from crawler.stories.assign import PendingStories, assign_story


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _random_prints(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """Random signatures in the fingerprint's layout: what distinct texts look like to LSH."""
    header = struct.pack("<qi", SEED, -NUM_PERM) + bytes([OPH_SCHEME])
    return [
        (
            article_id(f"https://example.test/{number}"),
            header + struct.pack(f"<{NUM_PERM}I", *(rng.getrandbits(32) for _ in range(NUM_PERM))),
        )
        for number in range(count)
    ]


def _story_bytes(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'story%' OR name LIKE 'sqlite_autoindex_story%'"
            " GROUP BY name"
        ).fetchall()
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        rows = []
    db.close()
    return dict(rows)


def store_costs(stored: int, articles: list[Article]) -> None:
    rng = random.Random(16)
    prints = _random_prints(stored, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite3"
        store = StateDB(path)
        started = time.perf_counter()
        for start in range(0, stored, 5000):
            part = prints[start : start + 5000]
            entries = [encode_print(i, i, minhash, b"", band_keys(minhash)) for i, minhash in part]
            store.apply({"now": int(time.time()), "articles": [], "touched": [], "urls": [], "validators": [],
                         "stories": entries})  # fmt: skip
        written = time.perf_counter() - started
        store.close()
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("state.sqlite3-*"))
        tables = _story_bytes(path)
        gc.collect()
        before = _rss_mb()
        store = StateDB(path)
        timings = []
        pending = PendingStories()
        for number, article in enumerate(articles):
            started = time.process_time()
            print_ = fingerprint(article.text)
            own = article_id(f"https://example.test/new/{number}")
            assignment = assign_story(own, [], print_, [pending, store])
            pending.add(own, assignment.story_id, [], print_)
            timings.append(time.process_time() - started)
        after = _rss_mb()
        store.close()
    timings.sort()
    print(f"\n{stored:,} stored fingerprints in SQLite (written in {written:.1f} s):")
    print(f"  database file: {size / 2**20:.1f} MiB, {size / stored:.0f} bytes per fingerprint", end="")
    print(f" -> {size / stored * 1e7 / 2**30:.1f} GiB for 10 million")
    for name, pages in sorted(tables.items()):
        print(f"    {name}: {pages / 2**20:.1f} MiB")
    print(
        f"  per article, fingerprint + lookup + assignment: median {timings[len(timings) // 2] * 1000:.2f} ms,"
        f" p95 {timings[int(len(timings) * 0.95)] * 1000:.2f} ms, mean {sum(timings) / len(timings) * 1000:.2f} ms"
    )
    print(f"  process memory (RSS) while looking up: {before:.0f} -> {after:.0f} MiB (the store stays on disk)")
    _in_memory(prints)


def _in_memory(prints: list[tuple[str, bytes]]) -> None:
    try:  # not a dependency any more: the comparison runs where it is installed
        from datasketch import LeanMinHash, MinHash, MinHashLSH
    except ImportError:
        print("  (pip install datasketch for the in-memory MinHashLSH comparison)")
        return
    gc.collect()
    before = _rss_mb()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for key, minhash in prints:
            values = struct.unpack_from(f"<{NUM_PERM}I", minhash, 13)
            session.insert(
                key, LeanMinHash(MinHash(num_perm=NUM_PERM, seed=SEED, hashvalues=values, scheme="affine32"))
            )
    grown = _rss_mb() - before
    print(
        f"  for comparison, datasketch's in-memory MinHashLSH of the same: {grown:.0f} MiB"
        f" -> {grown * 1e7 / len(prints) / 1024:.0f} GiB for 10 million, rebuilt at every start"
    )
    del lsh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=100_000)
    args = parser.parse_args()
    from benchmarks.story_clustering import build_set, extract

    articles = [article for _, article in extract(build_set(20, 30, 10, 0, 5))]
    store_costs(args.stored, articles)


if __name__ == "__main__":
    main()
