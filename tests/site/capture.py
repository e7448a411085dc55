"""Judge a simulation report (tests/site/simulate.py) against the timeline's ground truth.

For each shape: which articles came out as revision 1 in the run right after
they appeared, which announced edits came out as the next revision in the run
after, which records came out that no event explains, which article pages were
downloaded more often than an announcement justifies, and whether any URL in
the output still carries tracking parameters.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.site.timeline import STORY_PATH, TRACKING

__all__ = ["ShapeResult", "format_capture_table", "judge"]

# Events that justify one download of the story's page in their run.
_FETCH_EVENTS = {"publish", "edit", "move", "remove", "listed"}


@dataclass
class ShapeResult:
    shape: str
    name: str
    published: int = 0
    on_time: int = 0
    edits: int = 0
    edits_caught: int = 0
    needless_downloads: int = 0
    tracked_urls: int = 0
    missed: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    late_or_twice: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)


def _story(record: dict[str, Any]) -> tuple[str, int] | None:
    for url in (record.get("canonical_url"), record.get("url")):
        match = STORY_PATH.search(urlsplit(url or "").path)
        if match:
            return match.group("shape"), int(match.group("number"))
    return None


def _tracked(url: str | None) -> bool:
    return any(key.lower().startswith(TRACKING) for key, _ in parse_qsl(urlsplit(url or "").query))


def judge(report: dict[str, Any]) -> dict[str, ShapeResult]:
    results = {key: ShapeResult(key, name) for key, name in report["shapes"].items()}
    expected: dict[tuple[str, int, int], int] = {}  # (shape, number, run) -> revision expected
    allowed: Counter[tuple[str, int, int]] = Counter()
    for event in report["events"]:
        key = (event["shape"], event["number"], event["run"])
        if event["kind"] in _FETCH_EVENTS:
            allowed[key] += 1
        if event["kind"] == "publish":
            results[event["shape"]].published += 1
            expected[key] = 1
        elif event["kind"] == "edit":
            results[event["shape"]].edits += 1
            expected[key] = event["revision"]
    came: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for run in report["runs"]:
        for record in run["records"]:
            story = _story(record)
            if story is None:
                continue
            results[story[0]].tracked_urls += _tracked(record["canonical_url"]) + _tracked(record["url"])
            came[(story[0], story[1], run["run"])].append(record["revision"])
        fetched = Counter()
        for method, path, _ in run["hits"]:
            match = STORY_PATH.search(path)
            if method == "GET" and match:
                fetched[(match.group("shape"), int(match.group("number")), run["run"])] += 1
        for key, count in fetched.items():
            extra = count - allowed.get(key, 0)
            if extra > 0 and key[0] in results:
                results[key[0]].needless_downloads += extra
                results[key[0]].downloads.append(f"story {key[1]} fetched {count}x in run {key[2]}")
    for key, revision in expected.items():
        result = results[key[0]]
        got = came.get(key, [])
        if got == [revision]:
            if revision == 1:
                result.on_time += 1
            else:
                result.edits_caught += 1
        else:
            result.missed.append(f"story {key[1]} run {key[2]}: expected revision {revision}, got {got}")
    for key, revisions in came.items():
        if key not in expected and key[0] in results:
            results[key[0]].unexplained.append(f"story {key[1]} run {key[2]}: revisions {revisions}")
    return results


def format_capture_table(results: dict[str, ShapeResult]) -> str:
    rows = [
        "| shape | articles on time / published | edits caught / made | records no event explains "
        "| needless downloads | tracking params in output URLs |",
        "|---|---|---|---|---|---|",
    ]
    for result in results.values():
        rows.append(
            f"| {result.name} | {result.on_time} / {result.published} | {result.edits_caught} / {result.edits} "
            f"| {len(result.unexplained)} | {result.needless_downloads} | {result.tracked_urls} |"
        )
    return "\n".join(rows)
