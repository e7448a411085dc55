"""``scrapy sources enqueue`` and ``scrapy sources worker``: a run as RQ jobs on Redis.

enqueue, in order: takes the run lease in PostgreSQL (refused while another run is alive),
settles what a dead run left half-published, hashes the enabled sources into shards,
enqueues one job per shard (job timeout, one retry) and a finishing job that depends on
all of them. With ``--wait`` it blocks until the finishing job has ended the run, and
exits with the run's combined status, as ``scrapy crawl sources`` would.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler import settings as defaults
from crawler.config.sources_file import Source
from crawler.distributed.jobs import RETRIES
from crawler.distributed.manifest import MANIFEST_SUFFIX
from crawler.distributed.plan import BackfillSpec, RunPlan, ShardSpec
from crawler.distributed.shards import assign_shards
from crawler.exit_codes import EXIT_LOCKED, EXIT_SOURCE_FAILED
from crawler.output.names import run_names
from crawler.state.delivery import recover_deliveries
from crawler.state.lock import RunLockedError
from crawler.state.opener import crawl_session, lease_seconds, open_shared_store, state_url
from crawler.state.run_lease import describe_lease

__all__ = [
    "QUEUE_NAME",
    "Enqueued",
    "QueueUnavailableError",
    "enqueue_run",
    "redis_connection",
    "start_worker",
    "wait_for_run",
]

logger = logging.getLogger(__name__)

QUEUE_NAME = "sources-crawler"


class QueueUnavailableError(Exception):
    """Redis at REDIS_URL cannot be reached; the message says where and why."""


def redis_connection(settings: Any) -> Any:
    """A checked connection to REDIS_URL; QueueUnavailableError when it does not answer."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = settings.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as exc:
        raise QueueUnavailableError(f"cannot reach the job queue at REDIS_URL ({exc})") from None
    return connection


def project_queue(settings: Any, connection: Any = None) -> Any:
    from rq import Queue

    return Queue(settings.get("RQ_QUEUE") or QUEUE_NAME, connection=connection or redis_connection(settings))


@dataclass(frozen=True)
class Enqueued:
    plan: RunPlan
    finish_job_id: str


def _feeds(settings: Any) -> dict[str, Any]:
    return dict(settings.getdict("FEEDS") or settings.getdict("DEFAULT_FEEDS"))


def manifest_path(feeds: dict[str, Any], run_time: str, run_id: str) -> str:
    """Beside the run's first local file, named as an unsharded run's file would be."""
    params = _Params(run_time=run_time, run_id=run_id, name="sources", time=run_time, batch_time=run_time)
    for uri in feeds:
        text = str(uri).removeprefix("file://")
        if text not in ("-", "stdout:") and "://" not in text:
            path = Path(text % params)
            return str(path.with_name(path.name.removesuffix(path.suffix) + MANIFEST_SUFFIX))
    return f"output/sources-{run_time}{MANIFEST_SUFFIX}"


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return ""


def enqueue_run(
    settings: Any,
    sources: list[Source],
    shards: int,
    overrides: list[tuple[str, str]],
    backfill: BackfillSpec | None = None,
) -> Enqueued:
    """Lease, recovery, shards, jobs: the run is on the queue when this returns. A backfill has
    a shard per WARC file, each over all its sources.

    Raises RunLockedError while another run is alive, StateError when the store cannot be used."""
    from rq import Retry
    from rq.job import Dependency

    url = state_url(settings)
    assert url is not None
    connection = redis_connection(settings)  # before the lease: a queue down must not leave a run behind
    queue = project_queue(settings, connection)
    run_time, run_id = run_names(datetime.now(UTC))
    feeds = _feeds(settings)
    plan = RunPlan(
        run_id=run_id, run_time=run_time, created=time.time(), shards=shards,
        assignment=assign_shards(sources, shards) if backfill is None else _every_file(sources, backfill),
        state_url=url, manifest=manifest_path(feeds, run_time, run_id),
        retention_days=settings.getfloat("STATE_RETENTION_DAYS", defaults.STATE_RETENTION_DAYS),
        backfill=backfill is not None,
    )  # fmt: skip
    store = open_shared_store(url, max_connections=2)
    try:
        _take_lease(store, plan, lease_seconds(settings))
        recover_deliveries(store)
    finally:
        store.close()
    timeout = settings.getint("SHARD_TIMEOUT_SECONDS", defaults.SHARD_TIMEOUT_SECONDS)
    jobs = []
    for shard, names in plan.assignment.items():
        spec = ShardSpec(
            run_id=run_id, run_time=run_time, shard=shard, sources=names, state_url=url,
            settings=tuple(overrides), feeds=json.dumps(feeds),
            heartbeat=settings.getfloat("RUN_HEARTBEAT_SECONDS", defaults.RUN_HEARTBEAT_SECONDS),
            **(_file_of(backfill, shard) if backfill is not None else {}),
        )  # fmt: skip
        job = queue.enqueue_call(
            "crawler.distributed.jobs.run_shard", args=(spec,), timeout=timeout, retry=Retry(max=RETRIES),
            job_id=f"{run_id}-s{shard}", result_ttl=86400, failure_ttl=7 * 86400,
            description=f"sources shard {shard}/{shards} of run {run_id}: {', '.join(names)}",
        )  # fmt: skip
        jobs.append(job)
    finish = queue.enqueue_call(
        # Retried too: a worker killed while finishing must not leave the run unended.
        "crawler.distributed.jobs.finish_run", args=(plan,), timeout=600, job_id=f"{run_id}-finish",
        retry=Retry(max=RETRIES),
        depends_on=Dependency(jobs=jobs, allow_failure=True) if jobs else None, result_ttl=86400,
        description=f"finish run {run_id}",
    )  # fmt: skip
    return Enqueued(plan, finish.id)


def _every_file(sources: list[Source], backfill: BackfillSpec) -> dict[int, tuple[str, ...]]:
    names = tuple(source.name for source in sources)
    return {shard: names for shard in range(len(backfill.files))}


def _file_of(backfill: BackfillSpec, shard: int) -> dict[str, Any]:
    return {"archives": (backfill.files[shard],), "since": backfill.since, "until": backfill.until}


def _take_lease(store: Any, plan: RunPlan, stale_after: float) -> None:
    session = crawl_session(store)
    if session is None:
        raise RunLockedError(f"a scrapy crawl sources run is using {store.where}; not enqueueing")
    try:
        if store.take_lease(plan.run_id, stale_after, plan.as_dict(), crawl_gone=True) is None:
            raise RunLockedError(
                f"another run is still active in {store.where} ({describe_lease(store.lease())}); not enqueueing"
            )
    finally:
        session.release()


def wait_for_run(settings: Any, enqueued: Enqueued, poll: float = 1.0) -> int:
    """Block until the finishing job has ended the run; the run's combined status."""
    from rq.job import Job, JobStatus

    connection = redis_connection(settings)
    stale_after = lease_seconds(settings)
    store = open_shared_store(enqueued.plan.state_url, max_connections=1)
    try:
        while True:
            job = Job.fetch(enqueued.finish_job_id, connection=connection)
            status = job.get_status()
            if status == JobStatus.FINISHED:
                return int(job.return_value())
            if status in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED):
                print(f"sources-crawler: the finishing job of run {enqueued.plan.run_id} {status}", file=sys.stderr)
                return EXIT_SOURCE_FAILED
            lease = store.lease()
            if lease is None or lease.run_id != enqueued.plan.run_id:
                print(f"sources-crawler: run {enqueued.plan.run_id} was taken over by another run", file=sys.stderr)
                return EXIT_LOCKED
            if lease.finished is not None and lease.status is not None:
                return lease.status  # the finishing job ended the run (RQ may not say so yet)
            if not lease.active(stale_after):
                print(
                    f"sources-crawler: run {enqueued.plan.run_id} has had no heartbeat for {stale_after:.0f} s "
                    "(is a worker running? scrapy sources worker)",
                    file=sys.stderr,
                )
                return EXIT_SOURCE_FAILED
            time.sleep(poll)
    finally:
        store.close()


def start_worker(settings: Any, burst: bool = False) -> None:
    """An RQ worker on the project's queue whose dead peers' jobs are retried within seconds."""
    from rq import Worker

    heartbeat = max(1, int(settings.getfloat("RUN_HEARTBEAT_SECONDS", defaults.RUN_HEARTBEAT_SECONDS)))

    class ShardWorker(Worker):
        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            # RQ adds a fixed minute; a killed worker's shard should wait a few beats, not that.
            return self.job_monitoring_interval + max(2 * heartbeat, 5)

    connection = redis_connection(settings)
    worker = ShardWorker(
        [project_queue(settings, connection)], connection=connection, job_monitoring_interval=heartbeat,
        worker_ttl=3 * heartbeat + 15, maintenance_interval=max(2 * heartbeat, 5),
    )  # fmt: skip
    worker.work(burst=burst, logging_level=settings.get("LOG_LEVEL") or "INFO")
