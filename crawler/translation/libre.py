"""A self-hosted LibreTranslate server (``POST /translate``).

deep-translator's client lacks Ukrainian, insists on an API key and sends the
text in the query string, so this is a small JSON client of our own.
"""

from __future__ import annotations

from typing import Any

from crawler.translation.base import Provider, ProviderOptions, TranslationError
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

    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        payload: dict[str, Any] = {"q": texts, "source": source, "target": target, "format": "text"}
        if self.api_key:
            payload["api_key"] = self.api_key
        response = self.http.request("POST", self.endpoint, deadline, json=payload)
        try:
            data = response.json()
        except ValueError:
            raise TranslationError("bad_response", f"not JSON: {response.text[:100]!r}") from None
        if not isinstance(data, dict):
            raise TranslationError("bad_response", "unexpected JSON")
        if "error" in data:
            raise TranslationError("bad_request", str(data["error"])[:200])
        translated = data.get("translatedText")
        if isinstance(translated, str):
            translated = [translated]
        if (
            not isinstance(translated, list)
            or len(translated) != len(texts)
            or not all(isinstance(t, str) for t in translated)
        ):
            raise TranslationError("bad_response", "translatedText does not match the request")
        return translated
