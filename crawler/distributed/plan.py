"""What ``scrapy sources enqueue`` decides for a run, handed to its jobs (RQ pickles these)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BackfillSpec", "RunPlan", "ShardSpec"]


@dataclass(frozen=True)
class BackfillSpec:
    """A backfill over several machines (scrapy sources backfill --enqueue): one shard per file."""

    files: tuple[str, ...]
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class ShardSpec:
    """One shard's job: ``scrapy crawl sources`` over these sources, as part of this run."""

    run_id: str
    run_time: str
    shard: int
    sources: tuple[str, ...]
    state_url: str
    # -s NAME=VALUE for the crawl: the enqueue command's own.
    settings: tuple[tuple[str, str], ...] = ()
    # The run's FEEDS (JSON), before each shard and attempt gets its own file names.
    feeds: str = "{}"
    heartbeat: float = 5.0
    # A backfill's shard: the WARC files it reads (-a archives) and its window, as given.
    archives: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class RunPlan:
    """The whole run: its shards, and where its manifest goes."""

    run_id: str
    run_time: str
    created: float
    shards: int
    assignment: dict[int, tuple[str, ...]] = field(default_factory=dict)
    state_url: str = ""
    manifest: str = ""
    retention_days: float = 90.0
    # A backfill's shards read the same sources from different files: their figures add up.
    backfill: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "backfill" if self.backfill else "distributed",
            "run_id": self.run_id,
            "run_time": self.run_time,
            "shards": self.shards,
            "assignment": {str(k): list(v) for k, v in self.assignment.items()},
            "manifest": self.manifest,
        }
