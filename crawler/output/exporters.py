"""Feed storage that publishes a file only when it is complete, and a JSON lines
exporter that always writes valid UTF-8.

Downstream jobs pick up ``output/*.jsonl``; they must never see half a file.
The storage writes to a hidden temporary file in the target's directory and
renames it into place after an fsync, for the default output and for -o/-O
targets alike (-o appends by copying the existing file first).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.exporters import JsonLinesItemExporter
from scrapy.extensions.feedexport import FileFeedStorage, StdoutFeedStorage
from w3lib.url import file_uri_to_path

from crawler.files import fsync_dir, pid_alive
from crawler.output import signals
from crawler.parsing.chars import CONTROL_CHARS
from crawler.state.delivery import Delivery
from crawler.state.runstate import RunState
from crawler.state.store import StateError

__all__ = [
    "AtomicFileFeedStorage",
    "GuardedFile",
    "GuardedStdoutFeedStorage",
    "OutputError",
    "SafeJsonLinesItemExporter",
    "check_output_location",
    "part_path",
    "write_text_atomically",
]

logger = logging.getLogger(__name__)

_PART_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.part$")


def part_path(target: Path) -> Path:
    """The hidden temporary name ``target`` is written under until it is complete."""
    return target.with_name(f".{target.name}.{os.getpid()}.part")


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` so that ``target`` only ever appears complete (no temporary file is left)."""
    temp = part_path(target)
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


def check_output_location(uri: str) -> str | None:
    """Why a local feed URI cannot be written (its directory cannot be created or written
    to), or None. Checked before a crawl starts, so that a run whose output is bound to
    fail does not crawl for nothing; a failure later in the run is still caught."""
    parsed = urlparse(uri)
    if uri.strip() == "-" or parsed.scheme not in ("", "file"):
        return None
    path = Path(file_uri_to_path(uri) if parsed.scheme == "file" else uri)
    directory = Path(str(path.parent) % _AnyParam()) if "%(" in str(path.parent) else path.parent
    probe = directory / f".sources-crawler-probe.{os.getpid()}"
    try:
        make_directory(directory)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"output {path} cannot be written: {exc.strerror or exc} ({exc.filename or directory})"
    return None


def make_directory(directory: Path) -> None:
    """mkdir -p, saying "Not a directory" (not "File exists") when a file is in the way."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), directory)
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocker)) from None


class _AnyParam(dict):
    """Stands for feed URI parameters (%(run_time)s, ...) that are only known at run time."""

    def __getitem__(self, key: object) -> str:
        return "x"


class OutputError(Exception):
    """An output could not be written; it has been reported (one log line) already."""


class _ReportedFailureFilter(logging.Filter):
    """Scrapy logs a failed feed store with a traceback; ours were reported in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], OutputError))


_FEEDEXPORT_FILTER = _ReportedFailureFilter()


def _quiet_reported_failures() -> None:
    """Installed when Scrapy builds one of our storages: only feeds they write are concerned."""
    feedexport = logging.getLogger("scrapy.extensions.feedexport")
    if _FEEDEXPORT_FILTER not in feedexport.filters:
        feedexport.addFilter(_FEEDEXPORT_FILTER)


def _run_state(crawler: Any) -> Delivery | None:
    """The run's delivery (crawler/state/delivery.py), if this storage belongs to a crawl whose
    state extension is on."""
    if crawler is None:
        return None
    try:
        state = crawler.get_extension(RunState)
    except RuntimeError:  # the extension manager does not exist yet
        return None
    return state.delivery if state is not None else None


def _guarded_storage(cls: Any, crawler: Any, uri: str, *, feed_options: dict[str, Any] | None = None) -> Any:
    """``from_crawler`` of our storages: Scrapy's own report of a failed feed is quietened
    (they report it themselves, with its reason), and the storage knows the run state."""
    _quiet_reported_failures()
    return cls(uri, feed_options=feed_options, crawler=crawler)


class GuardedFile(io.BufferedIOBase):
    """A writable file that reports its first OSError and then swallows the rest.

    Every exporter (ours and Scrapy's) writes through it, so a full disk or a
    closed pipe is reported once, with its path, instead of as one traceback
    per item; the storage then refuses to publish what was written."""

    def __init__(self, file: IO[bytes] | None, on_error: Callable[[OSError], None]):
        super().__init__()
        self._file = file
        self._on_error = on_error

    @property
    def failed(self) -> bool:
        return self._file is None

    def fail(self, error: OSError) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        self._on_error(error)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._file is not None:
            try:
                self._file.write(data)
            except OSError as exc:
                self.fail(exc)
        return len(data)

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                self.fail(exc)

    def sync(self) -> None:
        """Flush to the disk: an error that only shows at fsync still counts."""
        self.flush()
        if self._file is not None:
            try:
                os.fsync(self._file.fileno())
            except OSError as exc:
                self.fail(exc)
            except (AttributeError, io.UnsupportedOperation, ValueError):
                pass  # a stream without a file descriptor

    def close(self) -> None:
        if self._file is not None and not self.closed:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:
                self._on_error(exc)
        super().close()

    def detach_stream(self) -> None:
        """Stop writing through (stdout stays open for others)."""
        self._file = None


class AtomicFileFeedStorage(FileFeedStorage):
    """Like Scrapy's file storage, but the target appears only once complete,
    and a failure at any point (open, write, close, rename) is reported once
    and keeps the run from marking anything delivered."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None, crawler: Any = None):
        super().__init__(uri, feed_options=feed_options)
        self.crawler = crawler
        self.target = Path(self.path)
        self.temp = part_path(self.target)
        self.committed = False
        self.failed = False
        self._file: GuardedFile | None = None
        self._state = _run_state(crawler)
        if self._state is not None:
            self._state.register_output(str(self.target))

    from_crawler = classmethod(_guarded_storage)

    def open(self, spider: Spider) -> IO[bytes]:
        directory = self.target.parent
        try:
            make_directory(directory)
            self._remove_stale_parts(directory)
            if self.write_mode == "ab" and self.target.exists():
                shutil.copyfile(self.target, self.temp)
            handle = self.temp.open(self.write_mode)
        except OSError as exc:
            self._file = GuardedFile(None, self._fail)
            self._fail(exc)
            return self._file  # type: ignore[return-value]
        self._file = GuardedFile(handle, self._fail)
        if self._state is not None:
            self._state.output_opened(str(self.target))
        return self._file  # type: ignore[return-value]

    def store(self, file: IO[bytes]) -> None:
        guarded = file if isinstance(file, GuardedFile) else self._file
        if guarded is not None and not self.failed:
            guarded.sync()
        if file is not guarded:
            with contextlib.suppress(OSError):
                file.close()
        if guarded is not None:
            guarded.close()
        if not self.failed:
            try:
                self._publish()
            except (OSError, StateError) as exc:
                # StateError: the delivery could not be recorded first, so the file must not appear.
                self._fail(exc)
        if self.failed:
            raise OutputError(f"{self.target} was not written")
        self.committed = True
        if self._state is not None:
            self._state.after_publish(self.target)

    def _publish(self) -> None:
        if self._state is not None:
            # Two-phase: the state database learns of the file just before it
            # appears and takes its content as delivered once every output is in place.
            self._state.before_publish(self.target, self.temp)
        self._signal(signals.output_publishing)
        os.replace(self.temp, self.target)
        fsync_dir(self.target.parent)
        self._signal(signals.output_published)

    def _signal(self, signal: object) -> None:
        if self.crawler is not None:
            self.crawler.signals.send_catch_log(signal=signal, path=self.target)

    def _fail(self, error: OSError | StateError) -> None:
        if self.failed:
            return
        self.failed = True
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)
        if self._state is not None:
            self._state.output_failed(str(self.target), error)
        else:
            logger.error("Output %s cannot be written (%s)", self.target, error)

    def _remove_stale_parts(self, directory: Path) -> None:
        """Temporary files of killed runs hold nothing that was delivered; drop them."""
        for path in directory.glob(".*.part"):
            match = _PART_RE.match(path.name)
            if match and not pid_alive(int(match.group("pid"))):
                try:
                    path.unlink()
                    logger.info("Removed %s left by an interrupted run", path)
                except OSError:
                    pass


class GuardedStdoutFeedStorage(StdoutFeedStorage):
    """``-o -``: a closed pipe is one clear error, and the run marks nothing delivered."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None, crawler: Any = None):
        super().__init__(uri, feed_options=feed_options)
        self._state = _run_state(crawler)
        self._file: GuardedFile | None = None
        self.failed = False
        if self._state is not None:
            self._state.register_output("stdout")

    from_crawler = classmethod(_guarded_storage)

    def open(self, spider: Spider) -> IO[bytes]:
        self._file = GuardedFile(super().open(spider), self._fail)
        if self._state is not None:
            self._state.output_opened("stdout")
        return self._file  # type: ignore[return-value]

    def store(self, file: IO[bytes]) -> None:
        if self._file is not None:
            self._file.flush()
            self._file.detach_stream()
        if self.failed:
            raise OutputError("standard output was not written")
        if self._state is not None:
            self._state.output_stored("stdout")

    def _fail(self, error: OSError) -> None:
        if not self.failed:
            self.failed = True
            if self._state is not None:
                self._state.output_failed("standard output", error)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return CONTROL_CHARS.sub("\ufffd", value) if CONTROL_CHARS.search(value) else value
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


class SafeJsonLinesItemExporter(JsonLinesItemExporter):
    """JSON lines in UTF-8 without ``\\u`` escapes that never fail on odd characters."""

    def __init__(self, file: IO[bytes], **kwargs: Any):
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("ensure_ascii", False)
        super().__init__(file, **kwargs)

    def export_item(self, item: Any) -> None:
        record = ItemAdapter(item).asdict()
        if self.fields_to_export:
            fields = self.fields_to_export
            names = fields.items() if isinstance(fields, dict) else ((name, name) for name in fields)
            record = {output: record.get(name) for name, output in names}
        data = self.encoder.encode(_clean(record)) + "\n"
        self.file.write(data.encode(self.encoding or "utf-8"))
