"""The run's book of discovery documents: what the state remembers of each, and what this run
learnt, applied with the run's deliveries (crawler/state/runstate.py).

A document's record is its own, not its parent's: the lastmod an index gave a child is kept
on the child when the child is read in full, so an index read in full while its child could
not be (a 503, a run stopped half-way) still leaves the child due on the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol

from crawler.frontier.revisit import DocumentRecord

__all__ = ["DocumentBook", "DocumentStore", "listing_digest", "validator_headers"]


def validator_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The headers of a conditional GET with the validators of the last answer."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


class DocumentStore(Protocol):
    def documents(self, urls: list[str]) -> dict[str, DocumentRecord]: ...


def listing_digest(links: Iterable[tuple[str, str | None]]) -> str:
    """A hash of what a document lists (links and the dates it gives them), in any order."""
    digest = hashlib.blake2b(digest_size=12)
    for url, marker in sorted(set(links), key=lambda link: (link[0], link[1] or "")):
        digest.update(f"{url}\0{marker or ''}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class DocumentBook:
    """Records are read from the store in bulk (one query per document whose children are
    weighed) and cached for the run; updates collect here until the run is published."""

    def __init__(self, store: DocumentStore, now: float, full: bool = False):
        self.store = store
        self.now = now
        # -a full=1: everything is asked for again, without validators.
        self.full = full
        self._records: dict[str, DocumentRecord | None] = {}
        self.updates: dict[str, DocumentRecord] = {}

    def records(self, urls: Iterable[str]) -> dict[str, DocumentRecord | None]:
        urls = list(dict.fromkeys(urls))
        wanted = [url for url in urls if url not in self._records]
        if wanted:
            found = self.store.documents(wanted)
            for url in wanted:
                self._records[url] = found.get(url)
        return {url: self._records[url] for url in urls}

    def record(self, url: str) -> DocumentRecord | None:
        return self.records([url])[url]

    def conditional_headers(self, url: str) -> dict[str, str]:
        record = self.record(url)
        if self.full or record is None or not record.read:
            return {}
        return validator_headers(record.etag, record.last_modified)

    def read(
        self, url: str, etag: str | None, last_modified: str | None, digest: str,
        children: list[tuple[str, str | None]], listed: str | None,
    ) -> bool:  # fmt: skip
        """A 200 read in full: returns whether what it lists changed since it was last read."""
        before = self.updates.get(url) or self.record(url)
        changed = before is None or before.digest != digest or before.changed is None
        self.updates[url] = DocumentRecord(
            url, etag, last_modified, self.now, self.now if changed else before.changed, True,  # type: ignore[union-attr]
            tuple(children), digest, listed, before.cursor if before is not None else None,
        )  # fmt: skip
        return changed

    def not_modified(self, url: str, listed: str | None) -> DocumentRecord | None:
        """A 304: as it was; returns the record, whose children are re-weighed."""
        record = self.updates.get(url) or self.record(url)
        if record is not None:
            self.updates[url] = replace(record, fetched=self.now, listed=listed or record.listed, complete=True)
        return record

    def failed(self, url: str) -> None:
        """Not read this run (an error, an unusable body): asked for in full next time."""
        record = self.updates.get(url) or self.record(url)
        base = record if record is not None else DocumentRecord(url)
        self.updates[url] = replace(base, complete=False, fetched=self.now, etag=None, last_modified=None)

    def cursor(self, url: str) -> dict[str, Any] | None:
        """A paginated archive's backfill position as this run leaves it."""
        record = self.updates.get(url) or self.record(url)
        return record.cursor if record is not None else None

    def set_cursor(self, url: str, cursor: dict[str, Any] | None) -> None:
        """A paginated archive's backfill position, kept on its first page's record."""
        record = self.updates.get(url) or self.record(url) or DocumentRecord(url, fetched=self.now, complete=False)
        self.updates[url] = replace(record, cursor=cursor)

    def payload(self) -> list[dict[str, Any]]:
        return [
            {
                "url": r.url, "etag": r.etag, "last_modified": r.last_modified, "fetched": r.fetched,
                "changed": r.changed, "complete": r.complete,
                "children": [list(child) for child in r.children] if r.children is not None else None,
                "digest": r.digest, "listed": r.listed, "cursor": r.cursor,
            }
            for r in self.updates.values()
        ]  # fmt: skip
