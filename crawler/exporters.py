"""Feed storage that publishes a file only when it is complete, and a JSON lines
exporter that always writes valid UTF-8.

Downstream jobs pick up ``output/*.jsonl``; they must never see half a file.
The storage writes to a hidden temporary file in the target's directory and
renames it into place after an fsync, for the default output and for -o/-O
targets alike (-o appends by copying the existing file first).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.exporters import JsonLinesItemExporter
from scrapy.extensions.feedexport import FileFeedStorage

__all__ = ["AtomicFileFeedStorage", "SafeJsonLinesItemExporter", "committed_path", "part_path", "write_text_atomically"]

logger = logging.getLogger(__name__)

_PART_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.part$")
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def part_path(target: Path) -> Path:
    """The hidden temporary name ``target`` is written under until it is complete."""
    return target.with_name(f".{target.name}.{os.getpid()}.part")


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` so that ``target`` only ever appears complete."""
    temp = part_path(target)
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, target)


class AtomicFileFeedStorage(FileFeedStorage):
    """Like Scrapy's file storage, but the target appears only once complete."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None, crawler: Any = None):
        super().__init__(uri, feed_options=feed_options)
        self.crawler = crawler
        self.target = Path(self.path)
        self.temp = part_path(self.target)
        self.committed = False

    @classmethod
    def from_crawler(
        cls, crawler: Any, uri: str, *, feed_options: dict[str, Any] | None = None
    ) -> AtomicFileFeedStorage:
        return cls(uri, feed_options=feed_options, crawler=crawler)

    def open(self, spider: Spider) -> IO[bytes]:
        directory = self.target.parent
        directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale_parts(directory)
        if self.write_mode == "ab" and self.target.exists():
            shutil.copyfile(self.target, self.temp)
        return self.temp.open(self.write_mode)

    def store(self, file: IO[bytes]) -> None:
        file.flush()
        os.fsync(file.fileno())
        file.close()
        state = getattr(self.crawler, "_sources_run_state", None)
        # Fault injection for the crash tests: widens the windows around the rename.
        pause = float(os.environ.get("SOURCES_CRAWLER_PUBLISH_PAUSE") or 0)
        if state is not None:
            # Two-phase: the state database learns of the file just before it
            # appears and takes its content as delivered just after.
            state.before_publish(self.target, state.probe_id())
        time.sleep(pause)
        os.replace(self.temp, self.target)
        _fsync_dir(self.target.parent)
        self.committed = True
        time.sleep(pause)
        if state is not None:
            state.after_publish(self.target)

    def _remove_stale_parts(self, directory: Path) -> None:
        """Temporary files of killed runs hold nothing that was delivered; drop them."""
        for path in directory.glob(".*.part"):
            match = _PART_RE.match(path.name)
            if match and not _pid_alive(int(match.group("pid"))):
                try:
                    path.unlink()
                    logger.info("Removed %s left by an interrupted run", path)
                except OSError:
                    pass


def committed_path(storage: object) -> Path | None:
    """The published file of a feed slot's storage, or None if it is not (yet) published."""
    if isinstance(storage, AtomicFileFeedStorage) and storage.committed:
        return storage.target
    return None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSAFE.sub("\ufffd", value) if _UNSAFE.search(value) else value
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
