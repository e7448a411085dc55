"""Giving a provider up for the run: the circuit breaker.

After TRANSLATION_FAILURE_LIMIT failed calls in a row, or one quota or authentication
failure, the provider is down for the rest of the run and every remaining article fails
at once instead of waiting. 429s without Retry-After slow the run down instead (see
crawler/translation/governor.py) and count only past RATE_LIMIT_PATIENCE times the limit;
a language pair the provider does not support says nothing about its health.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from crawler.translation.base import ErrorKind, TranslationError

__all__ = ["RATE_LIMIT_PATIENCE", "Breaker"]

logger = logging.getLogger(__name__)

# How many times the failure limit of 429s in a row the run sits through before giving up.
RATE_LIMIT_PATIENCE = 4


class Breaker:
    def __init__(self, failure_limit: int, label: str, stats: Callable[[str, int], None]):
        self.failure_limit, self.label, self._stats = max(1, failure_limit), label, stats
        self.consecutive_failures = 0
        self.rate_limited = 0
        self.down: TranslationError | None = None

    def succeeded(self) -> None:
        self.consecutive_failures = 0
        self.rate_limited = 0

    def failed(self, error: TranslationError) -> None:
        self._stats(f"translation/failures/{error.kind}", 1)
        if error.kind == ErrorKind.UNSUPPORTED:
            return
        if error.kind == ErrorKind.RATE_LIMITED and error.retry_after is None:
            # Slowed down instead of counted, until the storm has clearly not passed.
            self.rate_limited += 1
            limit_reached = self.rate_limited >= RATE_LIMIT_PATIENCE * self.failure_limit
        else:
            self.consecutive_failures += 1
            limit_reached = self.consecutive_failures >= self.failure_limit
        if self.down is None and (error.fatal or limit_reached):
            failed = max(self.consecutive_failures, self.rate_limited)
            self.down = TranslationError(
                "unavailable", f"{self.label} given up for this run after {failed} failed calls; last: {error}"
            )
            self._stats("translation/provider_down", 1)
            logger.error("Translation: %s", self.down)
