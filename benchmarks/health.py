"""Cost of source health at the end of a run: reading and assessing HEALTH_HISTORY_DAYS of
run summaries (default 28 days of runs every 15 minutes, 20 sources) from a real SQLite state.

    python benchmarks/health.py [--days 28] [--sources 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from crawler.health.assess import HealthRules, assess_all
from crawler.state.sqlite_store import StateDB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=28)
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    names = [f"source{n}" for n in range(args.sources)]
    runs = int(args.days * 96)
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB(Path(tmp) / "state.sqlite3")
        for index in range(runs):
            finished = int(now - (runs - index) * 900)
            figures = {
                "new": index % 3, "requested": 3, "unchanged": 2, "refused": {"no_article": index % 2},
                "errors": {}, "languages": {"uk": 2}, "translated": 2,
                "discovery": {
                    "ok": 1, "failed": {}, "answered": {"feed": 1}, "newest": {"feed": "2026-11-30T10:00:00Z"},
                },
            }  # fmt: skip
            summary = {"sources": {name: figures for name in names}}
            db.start_run(f"r{index}", finished - 60)
            db.finish_run(f"r{index}", finished, json.dumps(summary))
        size = (Path(tmp) / "state.sqlite3").stat().st_size
        started = time.perf_counter()
        history = db.run_history(now - args.days * 86400)
        read = time.perf_counter() - started
        healths = assess_all(history, names, now, HealthRules())
        total = time.perf_counter() - started
        db.close()
    print(f"{runs} runs x {args.sources} sources, state {size / 2**20:.1f} MiB")
    print(f"read {read:.3f} s, read + assess {total:.3f} s ({len(healths)} sources)")


if __name__ == "__main__":
    main()
