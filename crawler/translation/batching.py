"""Pieces of several articles share a provider call.

A call's budget (characters, and texts per call for batch APIs) is mostly unfilled when
each article goes alone: a title, a summary and a short text make three small pieces. The
batcher collects the pieces of every article waiting in the run, per language pair, and
packs them into calls once the budget is full or ``wait`` seconds after the first piece
arrived (and at once when asked to flush: the crawl went idle). Each piece has one future;
an article awaits its own pieces only, so it gets back exactly its own texts, or the
error of a call one of them was in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from crawler.translation.chunking import pack

__all__ = ["Batcher"]

# A call this full (of the character budget) is sent without waiting for more pieces.
FULL = 0.9

# A group of texts to send, with the owners (articles) of each, -> {text: translation}.
Run = Callable[[list[str], dict[str, list[object]]], Awaitable[dict[str, str]]]


@dataclass
class _Pending:
    futures: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    owners: dict[str, list[object]] = field(default_factory=dict)
    chars: int = 0


class Batcher:
    def __init__(self, run: Run, max_chars: int, max_items: int, wait: float):
        self.run, self.max_chars, self.max_items, self.wait = run, max_chars, max_items, wait
        self.pending = _Pending()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, texts: list[str], owner: object) -> list[asyncio.Future[str]]:
        """Futures of ``texts``' translations; a text already waiting is shared, not sent twice."""
        loop = asyncio.get_running_loop()
        futures = []
        for text in texts:
            future = self.pending.futures.get(text)
            if future is None:
                future = loop.create_future()
                self.pending.futures[text] = future
                self.pending.chars += len(text) + 1
            self.pending.owners.setdefault(text, []).append(owner)
            futures.append(future)
        # Enough waiting to fill calls well: send the full ones, keep the rest for later pieces.
        if self.pending.chars >= 2 * self.max_chars or len(self.pending.futures) >= 2 * self.max_items:
            self.flush(full_only=True)
        if self.pending.futures and self._timer is None:
            self._timer = loop.call_later(self.wait, self.flush)
        return futures

    def flush(self, full_only: bool = False) -> None:
        """Send what is waiting, packed into as few calls as fit; ``full_only``: only the
        calls that are (nearly) full, the others wait for more pieces or the timer."""
        if not full_only and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self.pending = self.pending, _Pending()
        for group in pack(list(pending.futures), self.max_chars, self.max_items):
            size = sum(len(text) + 1 for text in group)
            if full_only and size < FULL * self.max_chars and len(group) < self.max_items:
                for text in group:  # back to waiting
                    self.pending.futures[text] = pending.futures[text]
                    self.pending.owners[text] = pending.owners[text]
                    self.pending.chars += len(text) + 1
                continue
            owners = {text: pending.owners[text] for text in group}
            futures = {text: pending.futures[text] for text in group}
            task = asyncio.ensure_future(self._send(group, owners, futures))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(
        self, group: list[str], owners: dict[str, list[object]], futures: dict[str, asyncio.Future[str]]
    ) -> None:
        try:
            translated = await self.run(group, owners)
        except BaseException as exc:  # every piece of the call fails with it
            for future in futures.values():
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for text, future in futures.items():
            if future.done():
                continue
            if text in translated:
                future.set_result(translated[text])
            else:
                future.set_exception(KeyError(text))
