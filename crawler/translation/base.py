"""The provider interface: a small blocking class per translation service.

Providers are called from worker threads, never from the reactor; they must
honour ``deadline`` (a ``time.monotonic()`` value) for everything they do and
report failures as ``TranslationError`` with a kind the stage can act on.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

__all__ = ["LANGUAGE_NAMES", "Provider", "ProviderOptions", "TranslationError"]

_QUERY = re.compile(r"\?[^\s'\")>]+")

LANGUAGE_NAMES = {
    "uk": "Ukrainian",
    "ru": "Russian",
    "en": "English",
    "be": "Belarusian",
    "bg": "Bulgarian",
    "mk": "Macedonian",
    "sr": "Serbian",
    "kk": "Kazakh",
    "ky": "Kyrgyz",
    "tg": "Tajik",
    "mn": "Mongolian",
    "tt": "Tatar",
    "cv": "Chuvash",
    "os": "Ossetian",
    "uz": "Uzbek",
    "pl": "Polish",
    "de": "German",
    "fr": "French",
}


class ErrorKind(StrEnum):
    """Why a translation failed; the values are what records and summaries say."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    BAD_RESPONSE = "bad_response"
    EMPTY = "empty"
    ECHO = "echo"  # the "translation" came back in the source language
    QUOTA = "quota"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    UNAVAILABLE = "unavailable"
    # Not sent: the run's character budget (or the provider's quota) is used up.
    DEFERRED = "deferred"
    # Not sent: the service does not translate from that language (the article is skipped).
    UNSUPPORTED = "unsupported"


class TranslationError(Exception):
    """A failed provider call, of an ``ErrorKind`` (a kind that is not one is a bug: ValueError)."""

    RETRYABLE = frozenset(
        {
            ErrorKind.RATE_LIMITED,
            ErrorKind.SERVER_ERROR,
            ErrorKind.TIMEOUT,
            ErrorKind.CONNECTION,
            ErrorKind.BAD_RESPONSE,
        }
    )
    # After these, further calls in this run cannot succeed.
    FATAL = frozenset({ErrorKind.QUOTA, ErrorKind.AUTH, ErrorKind.UNAVAILABLE})

    def __init__(self, kind: ErrorKind | str, message: str, retry_after: float | None = None):
        # Query strings can hold the whole text (Google's GET endpoint) or a key.
        message = _QUERY.sub("?…", message)
        if len(message) > 300:
            message = message[:299] + "…"
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE

    @property
    def fatal(self) -> bool:
        return self.kind in self.FATAL

    def __str__(self) -> str:
        return f"{self.kind}: {super().__str__()}"


# Each kind of TranslationError said for people (the run summary's reasons, the digest).
FAILURE_WORDS = {
    "rate_limited": "rate-limited by the provider",
    "server_error": "the provider answered with errors",
    "timeout": "the provider did not answer in time",
    "connection": "translation service unreachable",
    "bad_response": "unusable answers from the provider",
    "empty": "empty answers from the provider",
    "echo": "the provider gave the text back untranslated",
    "quota": "the provider's quota is used up",
    "auth": "the provider refused the key",
    "bad_request": "the provider refused the request",
    "unavailable": "the provider was given up for the run after repeated failures",
    "deferred": "over the run's translation budget",
    "unsupported": "the provider does not translate from this language",
}


def failure_words(kind: str | None) -> str:
    return FAILURE_WORDS.get(kind or "", "translation failed")


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    url: str | None = None
    api_key: str | None = None
    model: str | None = None
    timeout: float = 20.0
    user_agent: str = "sources-crawler"
    threads: int = 1


class Provider(ABC):
    """One translation service. Subclasses set the class attributes and ``translate``."""

    name: ClassVar[str]
    label: ClassVar[str]  # as shown to readers: "Translated from Ukrainian via <label>"
    # Budget of one call: characters in all its texts together, and texts per call.
    max_chars: ClassVar[int] = 2000
    max_items: ClassVar[int] = 1
    # Longest single text; a longer paragraph is split at sentences.
    max_text_chars: ClassVar[int | None] = None
    # Environment variables consulted when TRANSLATION_API_KEY is not set.
    key_env: ClassVar[tuple[str, ...]] = ()
    default_url: ClassVar[str | None] = None
    # Languages (ISO 639-1) the service translates from, or None where the server or the
    # model decides (a LibreTranslate's installed models, a CTranslate2 model).
    source_languages: ClassVar[frozenset[str] | None] = None
    # The service's own codes, where they are not ISO 639-1.
    codes: ClassVar[dict[str, str]] = {}

    @classmethod
    def translates_from(cls, language: str) -> bool:
        return cls.source_languages is None or language in cls.source_languages

    @classmethod
    def code(cls, language: str) -> str:
        return cls.codes.get(language, language)

    def __init__(self, options: ProviderOptions):
        self.options = options
        self.url = options.url or self.default_url
        self.api_key = options.api_key or next((os.environ[v] for v in self.key_env if os.environ.get(v)), None)

    @property
    def text_limit(self) -> int:
        return min(self.max_text_chars or self.max_chars, self.max_chars)

    def check(self) -> str | None:
        """Why this provider cannot work as configured (missing key, package, model), or None."""
        return None

    @abstractmethod
    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        """Translate each text; return one translation per text, in order."""

    def remaining_chars(self) -> int | None:
        """Characters the account may still translate (a billing quota), or None if unknown."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release resources at the end of the crawl."""
