"""Judge a simulation report (tests/site/simulate.py) against the timeline's ground truth.

For each shape: which articles came out as revision 1 in the run right after they appeared
(or, for a page that failed, by the run after its failure cleared), which were never
delivered (lost), which announced edits came out as the next revision in the run after,
which articles of a backfill came out exactly once, which records came out that no event
explains, which article pages were downloaded more often than an announcement justifies,
how many discovery requests (feeds, sitemaps, listing pages) each run made, and whether any
URL in the output still carries tracking parameters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.site.clock import require_libfaketime
from tests.site.timeline import STORY_PATH, TRACKING

__all__ = ["ShapeResult", "format_capture_table", "judge", "simulated_report"]

ROOT = Path(__file__).resolve().parents[2]

# Events that justify downloads of the story's page in their run.
_FETCH_EVENTS = {"publish", "edit", "move", "remove", "listed", "failing"}
# Runs after which a shape's discovery is taken as settled (its first run reads what it has).
SETTLED_AFTER = 1


@dataclass
class ShapeResult:
    shape: str
    name: str
    published: int = 0
    on_time: int = 0
    lost: int = 0
    edits: int = 0
    edits_caught: int = 0
    backfill: int = 0
    backfilled_once: int = 0
    needless_downloads: int = 0
    tracked_urls: int = 0
    # Discovery requests (feeds, sitemaps, listing pages, robots.txt excepted) per run.
    discovery: list[int] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    late_or_twice: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    @property
    def settled_discovery(self) -> int:
        """The most discovery requests of a run once settled."""
        return max(self.discovery[SETTLED_AFTER:], default=0)


def _story(record: dict[str, Any]) -> tuple[str, int] | None:
    for url in (record.get("canonical_url"), record.get("url")):
        match = STORY_PATH.search(urlsplit(url or "").path)
        if match:
            return match.group("shape"), int(match.group("number"))
    return None


def _tracked(url: str | None) -> bool:
    return any(key.lower().startswith(TRACKING) for key, _ in parse_qsl(urlsplit(url or "").query))


def _came(report: dict[str, Any], results: dict[str, ShapeResult]) -> dict[tuple[str, int], dict[int, list[int]]]:
    """(shape, number) -> {run: [revisions that came out]}."""
    came: dict[tuple[str, int], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for run in report["runs"]:
        for record in run["records"]:
            story = _story(record)
            if story is None or story[0] not in results:
                continue
            results[story[0]].tracked_urls += _tracked(record["canonical_url"]) + _tracked(record["url"])
            came[story][run["run"]].append(record["revision"])
    return came


def _downloads(report: dict[str, Any], results: dict[str, ShapeResult], backfill: set[tuple[str, int]]) -> None:
    allowed: Counter[tuple[str, int, int]] = Counter()
    # An event that may come out in a window of runs justifies its downloads in any of them.
    windows: dict[tuple[str, int, int], int] = {}
    for event in report["events"]:
        if event["kind"] not in _FETCH_EVENTS:
            continue
        for run in range(event["run"], event["run"] + event.get("within", 0) + 1):
            allowed[(event["shape"], event["number"], run)] += event.get("fetches", 1)
            if event.get("within", 0):
                windows[(event["shape"], event["number"], run)] = event["run"]
    spent: Counter[tuple[str, int, int]] = Counter()
    once: Counter[tuple[str, int]] = Counter()
    for run in report["runs"]:
        fetched: Counter[tuple[str, int, int]] = Counter()
        discovery: Counter[str] = Counter()
        for method, path, _ in run["hits"]:
            match = STORY_PATH.search(path)
            if method == "GET" and match:
                fetched[(match.group("shape"), int(match.group("number")), run["run"])] += 1
            elif path != "/robots.txt" and (shape := path[1:2]) in results and path[2:3] == "/":
                discovery[shape] += 1
        for shape, result in results.items():
            result.discovery.append(discovery[shape])
        for key, count in fetched.items():
            if key[0] not in results:
                continue
            if (key[0], key[1]) in backfill:
                once[(key[0], key[1])] += count  # a backfilled page: once in the whole simulation
                continue
            if key in windows:  # downloads of a windowed event add up over its window
                window = (key[0], key[1], windows[key])
                spent[window] += count
                count, key = spent[window], window
            extra = count - allowed.get(key, 0)
            if extra > 0:
                results[key[0]].needless_downloads += extra
                results[key[0]].downloads.append(f"story {key[1]} fetched {count}x in run {key[2]}")
    for (shape, number), count in once.items():
        if count > 1:
            results[shape].needless_downloads += count - 1
            results[shape].downloads.append(f"backfilled story {number} fetched {count}x")


def judge(report: dict[str, Any]) -> dict[str, ShapeResult]:
    results = {key: ShapeResult(key, name) for key, name in report["shapes"].items()}
    came = _came(report, results)
    expected: dict[tuple[str, int, int], tuple[int, int]] = {}  # (shape, number, run) -> (revision, within)
    backfill: set[tuple[str, int]] = set()
    for event in report["events"]:
        key = (event["shape"], event["number"], event["run"])
        if event["run"] >= len(report["runs"]):
            continue  # due after the last run of the simulation
        if event["kind"] == "publish":
            results[event["shape"]].published += 1
            expected[key] = (1, event.get("within", 0))
        elif event["kind"] == "edit":
            results[event["shape"]].edits += 1
            expected[key] = (event["revision"], event.get("within", 0))
        elif event["kind"] == "backfill":
            results[event["shape"]].backfill += 1
            backfill.add((event["shape"], event["number"]))
    _downloads(report, results, backfill)
    explained: set[tuple[str, int, int]] = set()
    for (shape, number, run), (revision, within) in expected.items():
        result = results[shape]
        runs = came.get((shape, number), {})
        got = [(r, revisions) for r, revisions in runs.items() if run <= r <= run + within and revision in revisions]
        explained.update((shape, number, r) for r, _ in got)
        if len(got) == 1 and got[0][1] == [revision]:
            if revision == 1:
                result.on_time += 1
            else:
                result.edits_caught += 1
            continue
        result.missed.append(f"story {number} run {run}: expected revision {revision}, got {dict(runs)}")
        if revision == 1 and not runs:
            result.lost += 1
    for shape, number in backfill:
        runs = came.get((shape, number), {})
        explained.update((shape, number, r) for r in runs)
        if sum(len(revisions) for revisions in runs.values()) == 1:
            results[shape].backfilled_once += 1
        else:
            results[shape].missed.append(f"backfilled story {number}: came out {dict(runs)}")
            results[shape].lost += not runs
    for (shape, number), runs in came.items():
        for run, revisions in runs.items():
            if (shape, number, run) not in explained:
                results[shape].unexplained.append(f"story {number} run {run}: revisions {revisions}")
    return results


def simulated_report(workdir: Path, runs: int, *args: str, timeout: float = 280) -> dict[str, Any]:
    """Run ``tests.site.simulate`` (on its fake clock) and return its report, its table printed."""
    require_libfaketime()
    command = [sys.executable, "-m", "tests.site.simulate", "--runs", str(runs), "--workdir", str(workdir), *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((workdir / "report.json").read_text(encoding="utf-8"))
    print("\n" + format_capture_table(judge(report)))
    return report


def format_capture_table(results: dict[str, ShapeResult]) -> str:
    rows = [
        "| shape | articles on time / published | lost | edits caught / made | backfilled once / in archive "
        "| records no event explains | needless downloads | discovery requests: first run, most once settled "
        "| tracking params in output URLs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        first = r.discovery[0] if r.discovery else 0
        rows.append(
            f"| {r.name} | {r.on_time} / {r.published} | {r.lost} | {r.edits_caught} / {r.edits} "
            f"| {r.backfilled_once} / {r.backfill} | {len(r.unexplained)} | {r.needless_downloads} "
            f"| {first}, {r.settled_discovery} | {r.tracked_urls} |"
        )
    return "\n".join(rows)
