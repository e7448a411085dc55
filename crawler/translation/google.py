"""Google Translate's free web endpoint, through deep-translator.

deep-translator builds the request and parses Google's HTML, but calls
``requests.get`` with no timeout and maps failures loosely. Its module-level
``requests`` reference is pointed at a shim that sends the request through our
``HttpClient`` (hard deadline, Retry-After, our error kinds). The text travels
in the URL, percent-encoded (a Cyrillic letter costs ~6 bytes there), so calls
are kept far below deep-translator's nominal 5,000 characters.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import deep_translator.google as dt_google
from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES
from deep_translator.exceptions import (
    NotValidLength,
    NotValidPayload,
    RequestError,
    TooManyRequests,
    TranslationNotFound,
)

from crawler.translation.base import ErrorKind, Provider, ProviderOptions, TranslationError
from crawler.translation.http import HttpClient

__all__ = ["GoogleProvider"]

_state = threading.local()


class _RequestsShim:
    """Stands in for the ``requests`` module inside deep_translator.google."""

    def __getattr__(self, name: str) -> Any:
        import requests

        return getattr(requests, name)

    @staticmethod
    def get(url: str, params: dict[str, str] | None = None, proxies: Any = None, **kwargs: Any) -> Any:
        client: HttpClient = _state.client
        return client.request("GET", _state.url or url, _state.deadline, params=params)


dt_google.requests = _RequestsShim()  # type: ignore[assignment]


class GoogleProvider(Provider):
    name = "google"
    label = "Google"
    # ~1,800 Cyrillic characters percent-encode to ~11 KB of URL.
    max_chars = 1800
    max_items = 1
    default_url = "https://translate.google.com/m"
    # Google translates every language the crawler detects (all the Cyrillic ones too);
    # it names Hebrew, Chinese and Javanese by older codes.
    codes: ClassVar[dict[str, str]] = {"he": "iw", "zh": "zh-CN", "jv": "jw"}
    source_languages = frozenset(["he", "zh", "jv", *GOOGLE_LANGUAGES_TO_CODES.values()])

    def __init__(self, options: ProviderOptions):
        super().__init__(options)
        self.http = HttpClient(options.user_agent)

    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        _state.client, _state.url, _state.deadline = self.http, self.url, deadline
        results = []
        for text in texts:
            # A fresh translator per call: it keeps request parameters on the instance.
            translator = dt_google.GoogleTranslator(source=self.code(source), target=self.code(target))
            try:
                translated = translator.translate(text)
            except TranslationError:
                raise
            except TooManyRequests as exc:
                raise TranslationError(ErrorKind.RATE_LIMITED, str(exc)) from None
            except TranslationNotFound:
                raise TranslationError(ErrorKind.BAD_RESPONSE, "no translation in Google's answer") from None
            except (NotValidLength, NotValidPayload) as exc:
                raise TranslationError(ErrorKind.BAD_REQUEST, str(exc)) from None
            except RequestError as exc:
                raise TranslationError(ErrorKind.SERVER_ERROR, str(exc)) from None
            except Exception as exc:
                raise TranslationError(ErrorKind.BAD_RESPONSE, f"{type(exc).__name__}: {exc}") from None
            results.append(translated)
        return results
