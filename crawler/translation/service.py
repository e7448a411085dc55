"""The translation stage: the cache, chunking and packing, calls and their retries.

Runs on the reactor's asyncio loop; only the provider's blocking ``translate``
runs in worker threads, each call bounded by TRANSLATION_TIMEOUT. Rate limits,
server errors, timeouts and connection errors are retried with exponential backoff
and jitter (honouring Retry-After). Around the calls, three policies of their own:
the run's character budget (budget.py), how many calls go at once and how fast
(governor.py), and giving the provider up for the run (breaker.py).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crawler import settings as defaults
from crawler.config.setting_types import settings_config
from crawler.parsing.chars import CYRILLIC, is_cyrillic
from crawler.parsing.cyrillic_profiles import CYRILLIC_LANGUAGES
from crawler.translation.base import ErrorKind, Provider, TranslationError
from crawler.translation.batching import Batcher
from crawler.translation.breaker import Breaker
from crawler.translation.budget import RunBudget
from crawler.translation.cache import TranslationCache, cache_key
from crawler.translation.chunking import pack, reassemble, units_for
from crawler.translation.governor import RateGovernor

__all__ = ["Outcome", "TranslationService"]


FIELDS = ("title", "summary", "text")
# Answers that are not translations but notices from the service.
_NOTICES = re.compile(
    r"MYMEMORY WARNING|YOU USED ALL AVAILABLE FREE TRANSLATIONS|QUERY LENGTH LIMIT EXCEEDED|"
    r"PLEASE SELECT TWO DISTINCT LANGUAGES|INVALID LANGUAGE PAIR|unusual traffic from your computer|"
    r"quota (?:exceeded|has been exceeded)|daily limit",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_TARGETS = frozenset({"en", "de", "fr", "es", "it", "pl", "pt", "nl", "cs", "sv", "da", "fi", "ro", "tr"})
# Never wait longer than this for a Retry-After; a provider that asks for more is as good as down.
MAX_RETRY_WAIT = 120.0
_T = TypeVar("_T")


@dataclass(frozen=True)
class ServiceConfig:
    """How the service calls its provider; each field's default is its setting's, in settings.py."""

    concurrency: int = defaults.TRANSLATION_CONCURRENCY
    timeout: float = defaults.TRANSLATION_TIMEOUT
    retries: int = defaults.TRANSLATION_RETRIES
    backoff: float = defaults.TRANSLATION_BACKOFF
    failure_limit: int = defaults.TRANSLATION_FAILURE_LIMIT
    max_chars: int = defaults.TRANSLATION_MAX_CHARS  # per call; 0: the provider's own
    batch_wait: float = defaults.TRANSLATION_BATCH_WAIT
    max_chars_per_run: int = defaults.TRANSLATION_MAX_CHARS_PER_RUN  # 0: no limit
    cache: bool = defaults.TRANSLATION_CACHE

    @classmethod
    def from_settings(cls, settings: Any) -> ServiceConfig:
        """TRANSLATION_<FIELD> for each field."""
        return settings_config(cls, settings, "TRANSLATION_")


@dataclass
class Outcome:
    """What the stage did with one article."""

    fields: dict[str, str | None] = field(default_factory=dict)
    chars: int = 0
    # Characters sent to the provider for this article: every attempt of every call its pieces
    # travelled in (a shared call charged to each article by the length of its own pieces).
    sent: int = 0
    calls: int = 0
    cache_hits: int = 0
    error: TranslationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _own(group: list[str], owners: dict[str, list[object]], owner: object) -> int:
    """Characters of ``group`` that are ``owner``'s (a piece two articles share is the first's)."""
    return sum(len(text) for text in group if owners.get(text) and owners[text][0] is owner)


def _apportion(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers that add up to it exactly."""
    if not weights:
        return []
    scale = sum(weights)
    if scale == 0:
        return [total if index == 0 else 0 for index in range(len(weights))]
    shares = [total * weight // scale for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % scale))
    for index in remainders[: total - sum(shares)]:
        shares[index] += 1
    return shares


def _needs_translation(text: str, source: str) -> bool:
    """Whether ``text`` holds anything to translate. A paragraph of a Ukrainian article
    with no Cyrillic at all (a name, a quote in English, a number) stays as it is."""
    if source in CYRILLIC_LANGUAGES:
        return bool(CYRILLIC.search(text))
    return bool(_LETTER.search(text))


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def check_translation(original: str, translated: object, target: str) -> str:
    """The translation if it looks like one; raise TranslationError otherwise."""
    if not isinstance(translated, str) or not translated.strip():
        raise TranslationError(ErrorKind.EMPTY, "the provider returned no text")
    if _NOTICES.search(translated) and not _NOTICES.search(original):
        raise TranslationError(ErrorKind.QUOTA, f"the provider answered with a notice: {translated[:120]!r}")
    letters = _LETTER.findall(original)
    if len(letters) >= 3 and _normalised(translated) == _normalised(original):
        raise TranslationError(ErrorKind.ECHO, "the provider returned the text untranslated")
    if target in _LATIN_TARGETS and len(letters) >= 20:
        out_letters = _LETTER.findall(translated)
        cyrillic = sum(1 for ch in out_letters if is_cyrillic(ch))
        if out_letters and cyrillic / len(out_letters) > 0.5:
            raise TranslationError(ErrorKind.ECHO, "the provider's answer is still mostly Cyrillic")
    return translated.strip()


def _as_error(result: BaseException) -> TranslationError:
    if isinstance(result, TranslationError):
        return result
    return TranslationError(ErrorKind.BAD_RESPONSE, f"{type(result).__name__}: {result}")


# Characters of a one-string call kept for the "[n] " that number its lines.
NUMBERING_ROOM = 120
_NUMBERED = re.compile(r"^\s*\[(\d+)\]\s?(.*)$")


def _numbered_lines(answer: str, count: int) -> list[str] | None:
    """The lines of an answer to ``count`` numbered pieces, or None unless lines 1 … count
    came back exactly, each on its own line and in order."""
    lines = [line for line in answer.split("\n") if line.strip()]
    if len(lines) != count:
        return None
    texts = []
    for expected, line in enumerate(lines, 1):
        match = _NUMBERED.match(line)
        if match is None or int(match.group(1)) != expected:
            return None
        texts.append(match.group(2).strip())
    return texts


def _by_article(group: list[str], owners: dict[str, list[object]] | None) -> list[list[str]]:
    """The texts of a group per article (a text two articles share goes with the first)."""
    if not owners:
        return [group]
    articles: dict[int, list[str]] = {}
    for text in group:
        first = owners.get(text) or [None]
        articles.setdefault(id(first[0]), []).append(text)
    return list(articles.values())


class TranslationService:
    def __init__(
        self,
        provider: Provider,
        config: ServiceConfig = ServiceConfig(),
        *,
        cache: TranslationCache | None = None,
        stats: Callable[[str, int], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        """``cache``: used only when ``config.cache`` is on."""
        self.provider = provider
        self.config = config
        self.timeout = timeout = config.timeout
        self.retries = max(0, config.retries)
        self.backoff = backoff = config.backoff
        max_chars = config.max_chars
        self.max_chars = min(max_chars, provider.max_chars) if max_chars else provider.max_chars
        self.text_limit = min(provider.text_limit, self.max_chars)
        self.cache = cache if config.cache else None
        self._stats = stats or (lambda key, count: None)
        self._sleep = sleep
        concurrency = max(1, config.concurrency)
        # Spare threads: a call abandoned at its deadline may still be finishing.
        self.pool = ThreadPoolExecutor(max_workers=concurrency * 2, thread_name_prefix=f"translate-{provider.name}")
        # Pieces being translated now, by cache key: their translation, or the error they met.
        self._inflight: dict[bytes, asyncio.Future[str | TranslationError]] = {}
        # > 0: pieces of the articles waiting in the run share calls (crawler/translation/batching.py).
        self.batch_wait = config.batch_wait
        self._batchers: dict[tuple[str, str], Batcher] = {}
        # One thread: cache calls are short, and in order.
        self._cache_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="translation-cache")
        self.budget = RunBudget(provider, config.max_chars_per_run or None, self.pool, timeout, self._stats)
        self.governor = RateGovernor(concurrency, backoff, provider.label, self._stats, sleep)
        self.breaker = Breaker(config.failure_limit, provider.label, self._stats)
        problem = provider.check()
        if problem:
            self.breaker.down = TranslationError(ErrorKind.UNAVAILABLE, problem)

    @property
    def down(self) -> TranslationError | None:
        """Why the provider is given up for this run, or None."""
        return self.breaker.down

    # --- public -----------------------------------------------------------------

    async def translate(self, fields: dict[str, str | None], source: str, target: str) -> Outcome:
        """Translate ``fields`` (title, summary, text) from ``source`` to ``target``."""
        units = units_for(fields, self.text_limit)
        outcome = Outcome(chars=sum(len(u.text) for u in units))
        wanted = list(dict.fromkeys(u.text for u in units if u.text and _needs_translation(u.text, source)))
        translations = {u.text: u.text for u in units if u.text and not _needs_translation(u.text, source)}
        keys = {text: cache_key(self.provider.name, source, target, text) for text in wanted}
        if self.cache is not None and wanted:
            cached = await self._cache_call(self.cache.cached_translations, list(keys.values()))
            for text in wanted:
                if keys[text] in cached:
                    translations[text] = cached[keys[text]]
            outcome.cache_hits = sum(1 for text in wanted if text in translations)
            self._stats("translation/cache_hits", outcome.cache_hits)
        missing = [text for text in wanted if text not in translations]
        if missing:
            translations.update(await self._fetch(missing, keys, source, target, outcome))
        if outcome.error is None:
            outcome.fields = reassemble(units, translations, fields)
        return outcome

    async def _fetch(
        self, missing: list[str], keys: dict[str, bytes], source: str, target: str, outcome: Outcome
    ) -> dict[str, str]:
        """Translations of ``missing``. A piece another article is having translated right now
        (a near-duplicate's paragraph, a shared headline) is waited for, not sent again."""
        loop = asyncio.get_running_loop()
        waiting = {text: self._inflight[keys[text]] for text in missing if keys[text] in self._inflight}
        own = [text for text in missing if text not in waiting]
        futures = {text: self._inflight.setdefault(keys[text], loop.create_future()) for text in own}
        fresh: dict[str, str] = {}
        try:
            if own:
                fresh = await self._send(own, keys, source, target, outcome)
        finally:
            failed = outcome.error or TranslationError(ErrorKind.BAD_RESPONSE, "the piece was not translated")
            for text, future in futures.items():
                self._inflight.pop(keys[text], None)
                if not future.done():
                    future.set_result(fresh.get(text, failed))
        if waiting:
            self._stats("translation/shared_in_flight", len(waiting))
        for text, future in waiting.items():
            # Shielded: this article's cancellation must not cancel the other's piece.
            value = await asyncio.shield(future)
            if isinstance(value, TranslationError):
                outcome.error = outcome.error or value
            else:
                fresh[text] = value
        return fresh

    async def _send(
        self, missing: list[str], keys: dict[str, bytes], source: str, target: str, outcome: Outcome
    ) -> dict[str, str]:
        await self.budget.check_quota()
        if self.down is not None or self.budget.deferred is not None:
            outcome.error = self.down or self.budget.deferred
            return {}
        fresh = await (self._batched if self.batch_wait > 0 else self._alone)(missing, source, target, outcome)
        if self.cache is not None and fresh:
            # Good pieces are kept even when the article fails: the retry costs less.
            await self._cache_call(
                self.cache.cache_translations, [(keys[text], value) for text, value in fresh.items()]
            )
        return fresh

    async def _cache_call(self, call: Callable[[Any], _T], argument: Any) -> _T:
        """A cache read or write, in a thread when the store allows it (PostgreSQL), so that
        the event loop, and every download, does not wait on a round trip."""
        if getattr(self.cache, "threadsafe", False):
            return await asyncio.get_running_loop().run_in_executor(self._cache_pool, call, argument)
        return call(argument)

    def flush(self) -> None:
        """Send every piece waiting for its batch now (the crawl went idle)."""
        for batcher in self._batchers.values():
            batcher.flush()

    def close(self) -> None:
        self._cache_pool.shutdown(wait=True)  # the last pieces reach the cache before the store closes
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.provider.close()

    # --- calls ------------------------------------------------------------------

    async def _alone(self, missing: list[str], source: str, target: str, outcome: Outcome) -> dict[str, str]:
        """The article's own calls: its pieces packed among themselves."""
        results = await asyncio.gather(
            *(self._translate_group(group, source, target, outcome) for group in self._plan(missing)),
            return_exceptions=True,
        )
        fresh: dict[str, str] = {}
        for result in results:
            if isinstance(result, BaseException):
                outcome.error = outcome.error or _as_error(result)
            else:
                fresh.update(result)
        return fresh

    async def _batched(self, missing: list[str], source: str, target: str, outcome: Outcome) -> dict[str, str]:
        """The article's pieces sent with those of the other articles waiting, per language pair."""
        batcher = self._batchers.get((source, target))
        if batcher is None:

            async def run(group: list[str], owners: dict[str, list[object]]) -> dict[str, str]:
                return await self._shared_call(group, owners, source, target)

            batcher = self._batchers[(source, target)] = Batcher(run, *self._call_limits(), self.batch_wait)
        refused = self.budget.admit(missing)
        if refused is not None:
            outcome.error = refused
            return {}
        futures = batcher.submit(missing, outcome)
        results = await asyncio.gather(*futures, return_exceptions=True)
        fresh: dict[str, str] = {}
        for text, result in zip(missing, results, strict=True):
            if isinstance(result, BaseException):
                outcome.error = outcome.error or _as_error(result)
            else:
                fresh[text] = result
        return fresh

    async def _shared_call(
        self, group: list[str], owners: dict[str, list[object]], source: str, target: str
    ) -> dict[str, str]:
        shared = Outcome()
        try:
            return await self._translate_group(group, source, target, shared, owners)
        finally:
            # Each article is charged every call its pieces travelled in, and the characters sent
            # in proportion to its own pieces (a piece two articles share goes to the first).
            articles = [
                o for o in {id(o): o for texts in owners.values() for o in texts}.values() if isinstance(o, Outcome)
            ]
            for owner, sent in zip(
                articles, _apportion(shared.sent, [_own(group, owners, o) for o in articles]), strict=True
            ):
                owner.calls += shared.calls
                owner.sent += sent

    def _plan(self, texts: list[str]) -> list[list[str]]:
        return pack(texts, *self._call_limits())

    def _call_limits(self) -> tuple[int, int]:
        """(characters, texts) one call may carry. A one-string provider takes any number of
        texts joined as numbered lines, in a budget that keeps room for the numbers."""
        if self.provider.max_items == 1:
            return self.max_chars - NUMBERING_ROOM, 1 << 30
        return self.max_chars, self.provider.max_items

    async def _translate_group(
        self, group: list[str], source: str, target: str, outcome: Outcome,
        owners: dict[str, list[object]] | None = None,
    ) -> dict[str, str]:  # fmt: skip
        if self.provider.max_items > 1:
            translated = await self._call(group, source, target, outcome)
            return dict(zip(group, translated, strict=True))
        if len(group) == 1:
            (translated,) = await self._call(group, source, target, outcome)
            return {group[0]: translated}
        numbered = "\n".join(f"[{index}] {text}" for index, text in enumerate(group, 1))
        (joined,) = await self._call([numbered], source, target, outcome, check=False)
        lines = _numbered_lines(joined, len(group))
        if lines is not None:
            try:
                return {text: check_translation(text, line, target) for text, line in zip(group, lines, strict=True)}
            except TranslationError:
                pass
        # The answer lost, merged or reordered lines: never guess whose line is whose.
        self._stats("translation/regrouped", 1)
        articles = _by_article(group, owners)
        if len(articles) > 1:  # pieces of several articles: each article on its own
            results = await asyncio.gather(
                *(self._translate_group(texts, source, target, outcome) for texts in articles)
            )
        else:  # one article's paragraphs: one by one
            results = await asyncio.gather(*(self._translate_group([text], source, target, outcome) for text in group))
        return {text: value for result in results for text, value in result.items()}

    async def _call(
        self, texts: list[str], source: str, target: str, outcome: Outcome, check: bool = True
    ) -> list[str]:
        loop = asyncio.get_running_loop()
        error: TranslationError | None = None
        for attempt in range(self.retries + 1):
            if self.down is not None:
                raise self.down
            self.budget.spend(texts)  # a retry is sent, and billed, again
            async with self.governor.lane():
                await self.governor.wait_turn()
                if self.down is not None:
                    raise self.down
                deadline = time.monotonic() + self.timeout
                self._stats("translation/calls", 1)
                self._stats("translation/chars", sum(len(t) for t in texts))
                outcome.calls += 1
                outcome.sent += sum(len(t) for t in texts)
                try:
                    future = loop.run_in_executor(self.pool, self.provider.translate, texts, source, target, deadline)
                    # A little grace so the provider's own deadline normally fires first.
                    translated = await asyncio.wait_for(future, self.timeout + 0.5)
                    if not isinstance(translated, list) or len(translated) != len(texts):
                        raise TranslationError(ErrorKind.BAD_RESPONSE, "wrong number of translations")
                    if check:
                        translated = [check_translation(t, r, target) for t, r in zip(texts, translated, strict=True)]
                    self.breaker.succeeded()
                    self.governor.succeeded()
                    return translated
                except TimeoutError:
                    error = TranslationError(ErrorKind.TIMEOUT, f"no answer within {self.timeout:g} s")
                except TranslationError as exc:
                    error = exc
                except Exception as exc:
                    error = TranslationError(ErrorKind.BAD_RESPONSE, f"{type(exc).__name__}: {exc}")
            if error.kind == ErrorKind.RATE_LIMITED and error.retry_after is None:
                self.governor.slow_down()
            self.breaker.failed(error)
            if not error.retryable or attempt == self.retries or self.down is not None:
                break
            delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.5)
            if error.retry_after is not None:
                if error.retry_after > MAX_RETRY_WAIT:
                    break
                delay = max(delay, error.retry_after)
            self._stats("translation/retries", 1)
            await self._sleep(delay)
        assert error is not None
        raise error
