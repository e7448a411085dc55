"""A self-hosted LibreTranslate server (``POST /translate``).

deep-translator's client lacks Ukrainian, insists on an API key and sends the
text in the query string, so this is a small JSON client of our own.

Which languages a server translates depends on the models installed on it. The client
asks ``GET /languages`` once, and a language the server lacks is ``unsupported``: the
article is skipped, not failed (a failure would be sent again on every run).
"""

from __future__ import annotations

import threading
from typing import Any

from crawler.translation.base import ErrorKind, Provider, ProviderOptions, TranslationError
from crawler.translation.http import HttpClient

__all__ = ["LibreProvider"]


class LibreProvider(Provider):
    name = "libre"
    label = "LibreTranslate"
    # LibreTranslate's default --char-limit is 5,000 per request.
    max_chars = 5000
    max_items = 50
    key_env = ("LIBRETRANSLATE_API_KEY", "LIBRE_API_KEY")
    default_url = "http://127.0.0.1:5000"

    def __init__(self, options: ProviderOptions):
        super().__init__(options)
        self.http = HttpClient(options.user_agent)
        self.endpoint = (self.url or "").rstrip("/")
        if not self.endpoint.endswith("/translate"):
            self.endpoint += "/translate"
        self._languages: frozenset[str] | None = None
        self._asked = False
        self._lock = threading.Lock()

    def server_languages(self, deadline: float) -> frozenset[str] | None:
        """The source languages the server has models for, asked once; None if it cannot say."""
        with self._lock:
            if not self._asked:
                self._asked = True
                self._languages = self._ask_languages(deadline)
            return self._languages

    def _ask_languages(self, deadline: float) -> frozenset[str] | None:
        url = self.endpoint.removesuffix("/translate") + "/languages"
        try:
            data = self.http.request("GET", url, deadline).json()
        except (TranslationError, ValueError):
            return None  # an older server or a proxy without it: try every language
        if not isinstance(data, list):
            return None
        codes = [entry.get("code") for entry in data if isinstance(entry, dict)]
        return frozenset(code for code in codes if isinstance(code, str)) or None

    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        languages = self.server_languages(deadline)
        if languages is not None and source not in languages:
            raise TranslationError(ErrorKind.UNSUPPORTED, f"the LibreTranslate server has no model for {source!r}")
        payload: dict[str, Any] = {"q": texts, "source": source, "target": target, "format": "text"}
        if self.api_key:
            payload["api_key"] = self.api_key
        response = self.http.request("POST", self.endpoint, deadline, json=payload)
        try:
            data = response.json()
        except ValueError:
            raise TranslationError(ErrorKind.BAD_RESPONSE, f"not JSON: {response.text[:100]!r}") from None
        if not isinstance(data, dict):
            raise TranslationError(ErrorKind.BAD_RESPONSE, "unexpected JSON")
        if "error" in data:
            raise TranslationError(ErrorKind.BAD_REQUEST, str(data["error"])[:200])
        translated = data.get("translatedText")
        if isinstance(translated, str):
            translated = [translated]
        if (
            not isinstance(translated, list)
            or len(translated) != len(texts)
            or not all(isinstance(t, str) for t in translated)
        ):
            raise TranslationError(ErrorKind.BAD_RESPONSE, "translatedText does not match the request")
        return translated
