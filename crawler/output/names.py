"""The names a run's files carry: one home for the run's clock in feed paths and for the
files written beside an output (its summary, a distributed run's manifest).

Output retention (crawler/output/retention.py) deletes by these names, so they are defined
once, with the patterns that recognise them.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

__all__ = [
    "MANIFEST_SUFFIX",
    "PARAMETER_PATTERNS",
    "SHARD_TAG_PATTERN",
    "SUMMARY_SUFFIX",
    "TIMESTAMP_PARAMETERS",
    "run_names",
    "summary_path",
]

SUMMARY_SUFFIX = ".summary.json"
MANIFEST_SUFFIX = ".manifest.json"

_RUN_TIME_FORMAT = "%Y-%m-%dT%H-%M-%SZ"
_RUN_ID_FORMAT = "%Y%m%dT%H%M%S"

# What each feed URI parameter expands to, as a pattern: run_time and run_id are ours
# (run_names); time and batch_time are Scrapy's (an ISO time with ':' replaced by '-');
# batch_id is Scrapy's batch counter, name the spider's.
_ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}-\d{2})?"
PARAMETER_PATTERNS = {
    "run_time": r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z",
    "run_id": r"\d{8}T\d{6}-\d+",
    "time": _ISO_TIME,
    "batch_time": _ISO_TIME,
    "batch_id": r"\d+",
    "name": r"[\w.-]+",
}
# Parameters that make each run's file name its own: files named by one pile up run after run.
TIMESTAMP_PARAMETERS = frozenset({"run_time", "run_id", "time", "batch_time"})
# A shard of a distributed run writes -s<k> (and -r<n> on a retry) before the extension
# (crawler/distributed/shards.py).
SHARD_TAG_PATTERN = r"(?:-s\d+(?:-r\d+)?)?"


def run_names(moment: datetime) -> tuple[str, str]:
    """(run_time, run_id) of a run started at ``moment``: one clock for feed paths and the database."""
    return moment.strftime(_RUN_TIME_FORMAT), moment.strftime(_RUN_ID_FORMAT) + f"-{os.getpid()}"


def summary_path(output: Path) -> Path:
    """The run summary written beside ``output``."""
    return output.with_name(output.name + SUMMARY_SUFFIX)
