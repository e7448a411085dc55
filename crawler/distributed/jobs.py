"""The RQ jobs of a distributed run: one per shard, and the finishing job.

A shard job runs ``scrapy crawl sources`` over its sources in a fresh process group (a
Twisted reactor starts once per process, and the crawl's extraction workers belong to
it), keeps the run's heartbeat fresh while it waits, and takes the whole group down when
RQ's job timeout fires or when its own worker has died under it (kill -9): a retry of the
shard must never race an orphaned attempt. The finishing job depends on every shard job
(failures allowed), merges their summaries, records the run, writes the manifest and ends
the lease.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from crawler.distributed.manifest import build_manifest, combined_status, merge_summaries
from crawler.distributed.plan import RunPlan, ShardSpec
from crawler.distributed.shards import shard_feeds
from crawler.exit_codes import EXIT_LOCKED, FINISHED
from crawler.lifetime import die_with_parent
from crawler.output.exporters import write_text_atomically
from crawler.state.delivery import recover_deliveries
from crawler.state.opener import open_shared_store
from crawler.state.run_lease import Heartbeat

__all__ = ["RETRIES", "ShardFailedError", "finish_run", "run_shard", "shard_command"]

logger = logging.getLogger(__name__)

# A shard job is retried once (scrapy sources enqueue: Retry(max=RETRIES)).
RETRIES = 1
# The environment variable through which `scrapy sources worker` hands its own -s settings
# (this machine's EXTRACTION_WORKERS, ...) to the crawls its jobs start.
WORKER_SETTINGS_ENV = "SOURCES_CRAWLER_WORKER_SETTINGS"


class ShardFailedError(Exception):
    """The shard's crawl ended without finishing (killed, output or state failed); RQ retries it."""


def shard_command(spec: ShardSpec, attempt: int = 1) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "sources", "-a", f"sources={','.join(spec.sources)}"]
    command += ["-a", f"run={spec.run_id}", "-a", f"shard={spec.shard}", "-a", f"run_time={spec.run_time}"]
    if spec.archives:
        command += ["-a", f"archives={json.dumps(list(spec.archives))}"]
        command += [
            arg for name in ("since", "until") if (value := getattr(spec, name)) for arg in ("-a", f"{name}={value}")
        ]
    feeds = shard_feeds(json.loads(spec.feeds), spec.shard, attempt)
    settings = [*spec.settings, ("STATE_URL", spec.state_url), ("FEEDS", json.dumps(feeds))]
    settings += [tuple(pair) for pair in json.loads(os.environ.get(WORKER_SETTINGS_ENV, "[]"))]
    for name, value in settings:
        command += ["-s", f"{name}={value}"]
    return command


def run_shard(spec: ShardSpec) -> int:
    """Crawl one shard; its exit status (0 or 1), or ShardFailedError for RQ to retry."""
    store = open_shared_store(spec.state_url, max_connections=1)
    try:
        lease = store.lease()
        if lease is None or lease.run_id != spec.run_id or lease.finished is not None:
            logger.warning("Shard %s of run %s: the run is over or taken over; nothing to do", spec.shard, spec.run_id)
            return EXIT_LOCKED
        earlier = store.shard_results(spec.run_id).get(spec.shard)
        if earlier is not None and earlier.committed and earlier.status in FINISHED:
            # An earlier attempt finished the shard, then its worker died before RQ heard of it.
            return earlier.status
        crawl: list[subprocess.Popen[bytes]] = []
        # Taken over (this run was given up for dead): what it would still publish, the new run emits.
        heartbeat = Heartbeat(store, spec.run_id, spec.heartbeat, on_lost=lambda: _kill_now(crawl)).start()
        try:
            status = _crawl(spec, _attempt(), crawl)
        finally:
            heartbeat.stop()
        store.record_shard(spec.run_id, spec.shard, status=status)
    finally:
        store.close()
    if status not in FINISHED:
        raise ShardFailedError(f"shard {spec.shard} of run {spec.run_id}: the crawl ended with status {status}")
    return status


def _attempt() -> int:
    """1 for a shard's first run, 2 for its retry (RQ counts retries down)."""
    from rq import get_current_job

    job = get_current_job()
    if job is None or job.retries_left is None:
        return 1
    return 1 + max(0, RETRIES - job.retries_left)


def _crawl(spec: ShardSpec, attempt: int, started: list[subprocess.Popen[bytes]]) -> int:
    command = shard_command(spec, attempt)
    # `rq worker` may run outside the project directory: the crawl still finds its settings.
    env = {"SCRAPY_SETTINGS_MODULE": "crawler.settings", **os.environ}
    process = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=die_with_parent)
    started.append(process)
    watchdog = threading.Thread(target=_watch_parent, args=(process,), name="orphan-watch", daemon=True)
    watchdog.start()
    try:
        return process.wait()
    except BaseException:
        # RQ's job timeout (raised here by SIGALRM), or the worker stopping this job.
        _kill_group(process)
        raise


def _kill_now(started: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL the crawl's process group: nothing of this attempt gets published."""
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _watch_parent(process: subprocess.Popen[bytes]) -> None:
    """If the worker that runs this job dies, its job is retried elsewhere: stop this attempt."""
    parent = os.getppid()
    while process.poll() is None:
        if os.getppid() != parent:
            # At once, not gracefully: what this attempt would publish now, the retry does.
            logger.error("The worker running this shard died; killing the crawl (RQ retries the shard)")
            _kill_now([process])
            os._exit(1)
        time.sleep(0.5)


def _kill_group(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM the crawl's process group, then SIGKILL what is left of it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            if sig == signal.SIGTERM:
                os.killpg(process.pid, signal.SIGKILL)  # the crawl's own children, if any remain
            return
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


def finish_run(plan: RunPlan) -> int:
    """After every shard: the run's summary, state, manifest (last but the lease) and status."""
    store = open_shared_store(plan.state_url, max_connections=1)
    try:
        # Deliveries a shard published but never applied (killed in between, retry failed too).
        recover_deliveries(store, lambda run_id: run_id.startswith(f"{plan.run_id}-s"))
        results = store.shard_results(plan.run_id)
        finished = time.time()
        summary = merge_summaries(plan, results, finished)
        status = combined_status(plan, results)
        store.start_run(plan.run_id, int(plan.created))
        store.finish_run(plan.run_id, int(finished), json.dumps(summary, ensure_ascii=False))
        if plan.retention_days > 0:
            store.prune(int(plan.created - plan.retention_days * 86400))
        manifest = build_manifest(plan, results, summary, status)
        manifest["host"] = socket.gethostname()
        target = Path(plan.manifest)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(target, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        store.end_lease(plan.run_id, status)
        logger.info("Run %s finished with status %s; manifest %s", plan.run_id, status, target)
        return status
    finally:
        store.close()
