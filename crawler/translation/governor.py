"""How many calls go to the provider at once, and how fast.

At most TRANSLATION_CONCURRENCY calls are in flight. After a 429 that names no
Retry-After, one call at a time with a pause before each for the rest of the run
(Google's web endpoint answers bursts so); the pause halves with each call that
succeeds, as the storm passes, and grows with each 429.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["MAX_PAUSE", "RateGovernor"]

logger = logging.getLogger(__name__)

# Longest pause between calls once rate-limited.
MAX_PAUSE = 30.0


class RateGovernor:
    def __init__(
        self, concurrency: int, backoff: float, label: str, stats: Callable[[str, int], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):  # fmt: skip
        self.concurrency, self.backoff, self.label, self._stats, self._sleep = concurrency, backoff, label, stats, sleep
        self.slowed = False
        self.pause = 0.0
        self._semaphore: asyncio.Semaphore | None = None
        self._slow_lane: asyncio.Semaphore | None = None

    def lane(self) -> asyncio.Semaphore:
        """The semaphore a call waits on (made on first use, inside the running loop)."""
        if self.slowed:
            if self._slow_lane is None:
                self._slow_lane = asyncio.Semaphore(1)
            return self._slow_lane
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._semaphore

    async def wait_turn(self) -> None:
        """Inside the lane: the pause before a call, once slowed down."""
        if self.slowed:
            await self._sleep(self.pause)

    def succeeded(self) -> None:
        self.pause /= 2  # still one call at a time, but the storm is passing

    def slow_down(self) -> None:
        """A 429 without Retry-After: fewer calls in flight and a longer pause, not giving up."""
        self.pause = min(max(self.pause * 1.5, self.backoff * 2), MAX_PAUSE)
        if not self.slowed:
            self.slowed = True
            self._stats("translation/slowed_down", 1)
            logger.warning("Translation: %s rate-limits this run; one call at a time from now on", self.label)
