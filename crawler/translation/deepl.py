"""DeepL through the official ``deepl`` client.

deep-translator's DeepL class sends the key in the query string, which DeepL
stopped accepting in January 2026. The official client sends it in a header and
tracks the API. Its own retries are switched off so that 429/5xx handling,
Retry-After and giving up are the same for every provider.
"""

from __future__ import annotations

from crawler.translation.base import ErrorKind, Provider, ProviderOptions, TranslationError
from crawler.translation.http import timed_out

__all__ = ["DeeplProvider"]

# DeepL's target codes for English are regional.
_TARGETS = {"en": "EN-US", "pt": "PT-PT"}
# DeepL's source languages (developers.deepl.com, "Supported languages"): Bulgarian,
# Ukrainian and Russian among the Cyrillic ones; no Belarusian, Macedonian, Serbian,
# Kazakh, Kyrgyz, Tajik or Mongolian.
_SOURCES = frozenset(
    "ar bg cs da de el en es et fi fr he hu id it ja ko lt lv nb nl pl pt ro ru sk sl sv th tr uk vi zh".split()
)


class DeeplProvider(Provider):
    name = "deepl"
    label = "DeepL"
    source_languages = _SOURCES
    # A request may carry up to 128 KiB and 50 texts.
    max_chars = 30000
    max_items = 50
    max_text_chars = 5000
    key_env = ("DEEPL_AUTH_KEY", "DEEPL_API_KEY")

    def __init__(self, options: ProviderOptions):
        super().__init__(options)
        self._translator = None

    def check(self) -> str | None:
        try:
            import deepl  # noqa: F401
        except ImportError:
            return "the deepl package is not installed (pip install deepl)"
        if not self.api_key:
            return "no DeepL key: set TRANSLATION_API_KEY or DEEPL_AUTH_KEY"
        return None

    def _client(self):  # type: ignore[no-untyped-def]
        import deepl

        if self._translator is None:
            deepl.http_client.max_network_retries = 0
            deepl.http_client.min_connection_timeout = self.options.timeout
            self._translator = deepl.Translator(self.api_key or "", server_url=self.url, send_platform_info=False)
        return self._translator

    def remaining_chars(self) -> int | None:
        """The account's characters left this billing period (``get_usage``); None if unknown."""
        import deepl

        try:
            usage = self._client().get_usage()
        except (deepl.DeepLException, ValueError):
            return None
        character = usage.character
        if not character.valid or character.limit is None:
            return None
        return max(0, int(character.limit) - int(character.count or 0))

    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        import deepl

        try:
            results = self._client().translate_text(
                texts, source_lang=self.code(source).upper(), target_lang=_TARGETS.get(target, target.upper())
            )
        except deepl.TooManyRequestsException as exc:
            raise TranslationError(ErrorKind.RATE_LIMITED, str(exc)) from None
        except deepl.QuotaExceededException as exc:
            raise TranslationError(ErrorKind.QUOTA, str(exc)) from None
        except deepl.AuthorizationException as exc:
            raise TranslationError(ErrorKind.AUTH, str(exc)) from None
        except deepl.ConnectionException as exc:
            kind = ErrorKind.TIMEOUT if timed_out(exc) else ErrorKind.CONNECTION
            raise TranslationError(kind, str(exc)) from None
        except deepl.DeepLException as exc:
            status = getattr(exc, "http_status_code", None) or 0
            raise TranslationError(
                ErrorKind.SERVER_ERROR if status >= 500 else ErrorKind.BAD_RESPONSE, str(exc)[:300]
            ) from None
        except ValueError as exc:  # the client's JSON decoding of garbage
            raise TranslationError(ErrorKind.BAD_RESPONSE, str(exc)[:300]) from None
        if not isinstance(results, list):
            results = [results]
        if len(results) != len(texts):
            raise TranslationError(ErrorKind.BAD_RESPONSE, f"{len(results)} translations for {len(texts)} texts")
        return [result.text for result in results]
