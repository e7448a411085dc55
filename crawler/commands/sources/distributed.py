"""``enqueue [--shards K] [--wait]`` and ``worker [--burst]``: one run over several machines,
as RQ jobs on Redis with the state in PostgreSQL (crawler/distributed)."""

from __future__ import annotations

import argparse
import json
import os

from scrapy.exceptions import UsageError

from crawler import settings as defaults
from crawler.commands.sources.action import About, ActionParser, Context, refuse
from crawler.config.sources_file import Source
from crawler.distributed.plan import BackfillSpec
from crawler.exit_codes import EXIT_LOCKED, EXIT_OK, EXIT_STATE_UNUSABLE, EXIT_UNAVAILABLE
from crawler.state.lock import RunLockedError
from crawler.state.opener import state_url
from crawler.state.store import StateError

__all__ = ["Enqueue", "Worker", "enqueue"]


class Enqueue:
    about = About(
        "enqueue",
        "enqueue [--shards K] [--wait]",
        (("enqueue [--shards K]", "one run over several machines (Redis queue, PostgreSQL state)"),),
    )

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--shards", type=int, default=None, help="shards to split the run into (SHARDS)")
        parser.add_argument("--wait", action="store_true", help="wait for the run and exit with its status")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        config = context.config()
        shards = args.shards if args.shards is not None else context.settings.getint("SHARDS", defaults.SHARDS)
        if shards < 1:
            raise UsageError("enqueue [--shards K] [--wait]: K at least 1")
        return enqueue(context, list(config.enabled), shards, args.wait)


def enqueue(
    context: Context, sources: list[Source], shards: int, wait: bool, backfill: BackfillSpec | None = None
) -> int:
    """Enqueue a run (a backfill: one shard per WARC file) and say so; with ``wait``, its status."""
    from crawler.distributed.queue import QueueUnavailableError, enqueue_run, wait_for_run

    settings = context.settings
    try:
        if state_url(settings) is None:
            raise StateError("enqueue needs the state in PostgreSQL, shared by the workers: set STATE_URL")
        enqueued = enqueue_run(settings, sources, shards, list(context.set_options), backfill)
    except RunLockedError as exc:
        return refuse(str(exc), EXIT_LOCKED)
    except StateError as exc:
        return refuse(f"not enqueueing: {exc}", EXIT_STATE_UNUSABLE)
    except QueueUnavailableError as exc:
        return refuse(f"not enqueueing: {exc}", EXIT_UNAVAILABLE)
    plan = enqueued.plan
    if backfill is not None:
        print(f"run {plan.run_id}: {len(backfill.files)} WARC files, one job each, for {len(sources)} sources")
    else:
        print(f"run {plan.run_id}: {len(sources)} sources in {len(plan.assignment)} of {shards} shards")
    print(f"manifest: {plan.manifest}")
    return wait_for_run(settings, enqueued) if wait else EXIT_OK


class Worker:
    # A service: its log is what it has to say.
    about = About.line("worker [--burst]", "a worker that runs those shards", logs=True)

    def add_arguments(self, parser: ActionParser) -> None:
        parser.add_argument("--burst", action="store_true", help="quit once the queue is empty")

    def run(self, context: Context, args: argparse.Namespace) -> int:
        from crawler.distributed.jobs import WORKER_SETTINGS_ENV
        from crawler.distributed.queue import QueueUnavailableError, start_worker

        # This machine's own -s settings (EXTRACTION_WORKERS, ...) go to the crawls it runs.
        os.environ[WORKER_SETTINGS_ENV] = json.dumps(list(context.set_options))
        try:
            start_worker(context.settings, burst=args.burst)
        except QueueUnavailableError as exc:
            return refuse(str(exc), EXIT_UNAVAILABLE)
        return EXIT_OK
