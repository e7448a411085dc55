"""The end of a distributed run, as pure functions: one summary from the shards', the
run's combined exit status, and the manifest downstream tools read (written last, so
that when it appears every shard's file it names is in place)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.distributed.plan import RunPlan
from crawler.exit_codes import EXIT_OK, EXIT_SOURCE_FAILED, FINISHED, SEVERITY
from crawler.output.names import MANIFEST_SUFFIX
from crawler.output.summary import DEGRADED, run_totals
from crawler.parsing.dates import utc_timestamp

__all__ = ["MANIFEST_SUFFIX", "build_manifest", "combined_status", "manifest_files", "merge_summaries"]


def failed_shards(plan: RunPlan, results: dict[int, Any]) -> list[int]:
    """Shards whose crawl never finished with a status a run can end with (0 or 1)."""
    failed = []
    for shard in plan.assignment:
        result = results.get(shard)
        if result is None or result.status not in FINISHED:
            failed.append(shard)
    return failed


def combined_status(plan: RunPlan, results: dict[int, Any]) -> int:
    """The run's exit status: the worst of its shards'; a shard that never finished counts as
    its sources having failed (1)."""
    statuses = {EXIT_SOURCE_FAILED for _ in failed_shards(plan, results)}
    for shard in plan.assignment:
        result = results.get(shard)
        if result is not None and result.status is not None:
            statuses.add(result.status if result.status in SEVERITY else EXIT_SOURCE_FAILED)
    return next((status for status in SEVERITY if status in statuses), EXIT_OK)


# A source's statuses, worst first: a backfill's shards read one source from several files.
_STATUSES = ("failed", "refused", "untranslated", "ok", "idle")


def _added(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two shards' figures of one thing added up: counts summed, a source's worse status kept."""
    out = dict(a)
    for key, value in b.items():
        mine = out.get(key)
        if key not in out or mine is None:
            out[key] = value
        elif isinstance(value, dict) and isinstance(mine, dict):
            out[key] = _added(mine, value)
        elif isinstance(value, int | float) and not isinstance(value, bool) and isinstance(mine, int | float):
            out[key] = mine + value
    if "status" in a and "status" in b:
        worse = min((a, b), key=lambda f: _STATUSES.index(f["status"]) if f["status"] in _STATUSES else 0)
        out["status"], out["reason"] = worse["status"], worse.get("reason")
    return out


def merge_summaries(plan: RunPlan, results: dict[int, Any], finished: float) -> dict[str, Any]:
    """One run summary (the shape of crawler/output/summary.py) from the shards' summaries."""
    sources: dict[str, Any] = {}
    outputs: list[str] = []
    failed_outputs: dict[str, str] = {}
    archives: dict[str, Any] | None = None
    committed = True
    for shard in sorted(plan.assignment):
        result = results.get(shard)
        summary = (result.summary if result is not None else None) or {}
        if plan.backfill:
            for name, figures in summary.get("sources", {}).items():
                sources[name] = _added(sources.get(name) or {}, figures)
            if summary.get("archives") is not None:
                archives = _added(archives or {}, summary["archives"])
        else:
            sources.update(summary.get("sources", {}))
        outputs.extend(summary.get("outputs", result.files if result is not None else []))
        failed_outputs.update(summary.get("failed_outputs", {}))
        committed = committed and bool(result is not None and result.committed)
    failed = failed_shards(plan, results)
    never_ran = [name for shard in failed for name in plan.assignment[shard] if name not in sources]
    merged = {
        "run_id": plan.run_id,
        "started": utc_timestamp(plan.created),
        "finished": utc_timestamp(finished),
        "seconds": round(finished - plan.created, 1),
        "finish_reason": "finished" if not failed else "shard_failed",
        "full": False,
        "outputs": outputs,
        "state_committed": committed,
        "failed_outputs": failed_outputs,
        "totals": run_totals(sources),
        "failed_sources": sorted({*(n for n, f in sources.items() if f.get("status") == "failed"), *never_ran}),
        "degraded_sources": sorted(n for n, f in sources.items() if f.get("status") in DEGRADED),
        "flagged_sources": sorted(n for n, f in sources.items() if (f.get("health") or {}).get("flags")),
        "sources": dict(sorted(sources.items())),
        "shards": {"count": plan.shards, "failed": failed},
    }
    if plan.backfill:
        merged["archives"] = archives or {}
    return merged


def build_manifest(plan: RunPlan, results: dict[int, Any], summary: dict[str, Any], status: int) -> dict[str, Any]:
    """The run manifest: every shard's files, counts per source, failed shards, the summary."""
    shards = []
    for shard in sorted(plan.assignment):
        result = results.get(shard)
        shard_summary = (result.summary if result is not None else None) or {}
        files = list(result.files) if result is not None else []
        shards.append({
            "shard": shard,
            "sources": list(plan.assignment[shard]),
            "status": result.status if result is not None else None,
            "committed": bool(result is not None and result.committed),
            "host": shard_summary.get("host"),
            "records": shard_summary.get("totals", {}).get("emitted", 0),
            "files": [{"path": path, "name": Path(path).name} for path in files],
        })  # fmt: skip
    return {
        "manifest_version": 1,
        "run_id": plan.run_id,
        "run_time": plan.run_time,
        "status": status,
        "files": [entry for shard in shards for entry in shard["files"]],
        "counts": {name: figures.get("emitted", 0) for name, figures in summary["sources"].items()},
        "failed_shards": summary["shards"]["failed"],
        "shards": shards,
        "summary": summary,
    }


def manifest_files(manifest: dict[str, Any], manifest_path: Path) -> list[Path]:
    """The JSON lines files a manifest names, found where they were written or beside it."""
    found = []
    for entry in manifest.get("files", []):
        path = Path(entry["path"])
        if not path.exists():
            path = manifest_path.parent / entry.get("name", path.name)
        if path.suffix == ".jsonl":
            found.append(path)
    return found
