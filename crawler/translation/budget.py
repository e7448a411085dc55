"""The run's translation budget: how many characters this run may still send.

TRANSLATION_MAX_CHARS_PER_RUN, lowered once per run to what the provider's billing quota
has left; once the next call would pass it, that call and everything after it are deferred
to the next run (the articles go out untranslated and are translated then). Shared calls
(crawler/translation/batching.py) admit whole articles while there is room for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from crawler.translation.base import ErrorKind, Provider, TranslationError

__all__ = ["RunBudget"]

logger = logging.getLogger(__name__)

# A line's number and newline in a shared call, "[12] …\n", counted against the budget.
LINE_ROOM = 6


class RunBudget:
    def __init__(
        self, provider: Provider, limit: int | None, pool: Executor, timeout: float, stats: Callable[[str, int], None]
    ):  # fmt: skip
        self.provider, self.pool, self.timeout, self._stats = provider, pool, timeout, stats
        self.limit = limit if limit and limit > 0 else None
        self.spent = 0
        self.reserved = 0  # characters of the articles admitted into shared calls
        self.deferred: TranslationError | None = None
        self._quota: asyncio.Future[None] | None = None

    async def check_quota(self) -> None:
        """Once per run, before the first call: what the provider's billing quota has left."""
        if self._quota is None:
            self._quota = asyncio.ensure_future(self._read_quota())
        await asyncio.shield(self._quota)

    async def _read_quota(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            remaining = await asyncio.wait_for(
                loop.run_in_executor(self.pool, self.provider.remaining_chars), self.timeout
            )
        except Exception as exc:  # an unknown quota is no reason not to try, but the operator hears of it
            logger.warning(
                "Translation: the %s quota could not be read (%s: %s); translating without knowing it",
                self.provider.label, type(exc).__name__, exc,
            )  # fmt: skip
            self._stats("translation/quota_unknown", 1)
            return
        if remaining is None:
            return
        self._stats("translation/quota_remaining", remaining)
        if remaining <= 0:
            self.deferred = TranslationError(ErrorKind.DEFERRED, f"the {self.provider.label} quota is used up")
        elif self.limit is None or remaining < self.limit:
            self.limit = remaining
            logger.info("Translation: %s quota leaves %d characters for this run", self.provider.label, remaining)

    def spend(self, texts: list[str]) -> None:
        """Reserve the characters of one call, or defer it (and everything after it)."""
        size = sum(len(text) for text in texts)
        if self.limit is not None and self.spent + size > self.limit:
            if self.deferred is None:
                self._defer()
            assert self.deferred is not None
            raise self.deferred
        self.spent += size  # a call admitted before the budget ran out still goes

    def admit(self, texts: list[str]) -> TranslationError | None:
        """Admit a whole article into shared calls, or say why not (the budget is used up)."""
        if self.limit is None:
            return None
        size = sum(len(text) + LINE_ROOM for text in texts)
        if self.deferred is None and self.reserved + size > self.limit:
            self._defer()
        if self.deferred is not None:
            return self.deferred
        self.reserved += size
        return None

    def _defer(self) -> None:
        self.deferred = TranslationError(
            ErrorKind.DEFERRED,
            f"the run's translation budget ({self.limit} characters, TRANSLATION_MAX_CHARS_PER_RUN "
            f"or the provider's quota) is used up: {self.spent} sent; translated on the next run",
        )
        self._stats("translation/deferred_from_chars", self.spent)
