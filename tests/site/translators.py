"""A loopback stand-in for the paid/remote translation services, speaking their APIs.

One HTTP server answers as Google's web endpoint (``GET /m`` as deep-translator
reads it), LibreTranslate (``POST /translate``) and DeepL (``POST /v2/translate``).
Its "translation" is a transliteration of Cyrillic into Latin letters, so tests
can predict every output. Failures are scripted: HTTP 429 with Retry-After, 500,
hanging, trickling bytes, garbage, echoing the input, quota notices, merged lines.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.translation import ProviderOptions, provider_class
from crawler.translation.service import Outcome, ServiceConfig, TranslationService
from tests.site.server import Site

__all__ = ["PROVIDER_PATHS", "FakeTranslator", "translate_all", "translit"]

# Where the stand-in answers as each provider: TRANSLATION_URL = fake.url(PROVIDER_PATHS[name]).
PROVIDER_PATHS = {"google": "/m", "libre": "", "deepl": ""}

_TABLE = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ye", "ж": "zh", "з": "z",
        "и": "y", "і": "i", "ї": "yi", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
        "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ь": "", "ю": "yu", "я": "ya", "ы": "y", "э": "e", "ъ": "", "ё": "yo", "'": "", "’": "",
        "ў": "w", "ј": "j", "љ": "lj", "њ": "nj", "ђ": "dj", "ћ": "c", "џ": "dz", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
    }
)  # fmt: skip


def translit(text: str) -> str:
    """The stand-in's deterministic 'translation' (per character, keeps newlines)."""
    out = []
    for ch in text:
        low = ch.lower()
        mapped = low.translate(_TABLE)
        out.append(mapped.capitalize() if ch != low else mapped)
    return "".join(out)


class FakeTranslator:
    """``with FakeTranslator() as fake:``; then ``fake.url('/m')`` etc. as TRANSLATION_URL."""

    def __init__(self, latency: float = 0.0):
        self.site = Site()
        self.latency = latency
        self.script: deque[tuple[Any, ...]] = deque()  # one action per request, then "ok"
        self.mode: tuple[Any, ...] = ("ok",)  # used when the script is empty
        self.calls = 0
        self.chars = 0
        self.texts: list[str] = []
        self.source_languages: list[str] = []  # what each Google call named as the source
        # LibreTranslate's GET /languages: the codes it lists (None: the server has no such endpoint).
        self.libre_languages: list[str] | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        # DeepL's /v2/usage: (characters used, limit) of the account this billing period.
        self.deepl_usage: tuple[int, int] = (0, 500_000)
        self._lock = threading.Lock()

    def __enter__(self) -> FakeTranslator:
        self.site.start()
        self.site.handle("/m", self._google)
        self.site.handle("/translate", self._libre)
        self.site.handle("/languages", self._libre_languages)
        self.site.handle("/v2/translate", self._deepl)
        self.site.handle("/v2/usage", self._deepl_usage)
        return self

    def __exit__(self, *exc: object) -> None:
        self.site.stop()

    def url(self, path: str) -> str:
        return self.site.url(path)

    def provider_options(self, name: str, timeout: float = 5.0) -> ProviderOptions:
        """Options for provider ``name`` pointed at this stand-in (DeepL gets a key)."""
        return ProviderOptions(
            url=self.url(PROVIDER_PATHS[name]), api_key="test-key" if name == "deepl" else None, timeout=timeout
        )

    def service(self, name: str, **kwargs: Any) -> TranslationService:
        """A translation service on provider ``name`` here, quick to retry; ``kwargs`` override."""
        wiring = {key: kwargs.pop(key) for key in ("cache", "stats", "sleep") if key in kwargs}
        config = ServiceConfig(**{"timeout": 5.0, "backoff": 0.01, "batch_wait": 0.0, **kwargs})
        provider = provider_class(name)(self.provider_options(name, timeout=config.timeout))
        return TranslationService(provider, config, **wiring)

    # --- plumbing -------------------------------------------------------------------

    def _next_action(self) -> tuple[Any, ...]:
        with self._lock:
            return self.script.popleft() if self.script else self.mode

    def _count(self, texts: list[str]) -> None:
        with self._lock:
            self.calls += 1
            self.chars += sum(len(t) for t in texts)
            self.texts.extend(texts)

    def _serve(self, request: BaseHTTPRequestHandler, texts: list[str], render: Any) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._count(texts)
            if self.latency:
                time.sleep(self.latency)
            action = self._next_action()
            kind = action[0]
            if kind == "status":
                status, headers = action[1], (action[2] if len(action) > 2 else {})
                self._send(request, status, b'{"error": "scripted failure"}', "application/json", headers)
            elif kind == "hang":
                time.sleep(action[1])
            elif kind == "trickle":
                request.send_response(200)
                request.send_header("Content-Type", "text/html")
                request.send_header("Content-Length", "100000")
                request.end_headers()
                end = time.monotonic() + action[1]
                while time.monotonic() < end:
                    request.wfile.write(b" ")
                    request.wfile.flush()
                    time.sleep(0.2)
            elif kind == "garbage":
                self._send(request, 200, b"\x00\xffnot what you expected<<<", "text/html")
            else:
                outputs = [self._output(kind, text) for text in texts]
                body, content_type = render(outputs)
                self._send(request, 200, body, content_type)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def _output(kind: str, text: str) -> str:
        if kind == "echo":
            return text
        if kind == "notice":
            return "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY."
        if kind == "merge_lines":
            return translit(text).replace("\n", " ")
        if kind == "drop_separator":  # two lines come back as one
            return translit(text).replace("\n", " ", 1)
        if kind == "swap_lines":  # the first two lines come back in each other's place
            lines = translit(text).split("\n")
            lines[:2] = lines[:2][::-1]
            return "\n".join(lines)
        return translit(text)

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _body(request: BaseHTTPRequestHandler) -> dict[str, Any]:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if "json" in (request.headers.get("Content-Type") or ""):
            return json.loads(raw or b"{}")
        return {key: values if len(values) > 1 else values[0] for key, values in parse_qs(raw.decode()).items()}

    # --- the three APIs ---------------------------------------------------------------

    def _google(self, request: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(request.path).query)
        texts = query.get("q", [""])
        with self._lock:
            self.source_languages.append(query.get("sl", [""])[0])

        def render(outputs: list[str]) -> tuple[bytes, str]:
            page = f'<html><body><div class="result-container">{html.escape(outputs[0])}</div></body></html>'
            return page.encode(), "text/html; charset=utf-8"

        self._serve(request, texts, render)

    def _libre(self, request: BaseHTTPRequestHandler) -> None:
        body = self._body(request)
        q = body.get("q", "")
        texts = q if isinstance(q, list) else [q]

        def render(outputs: list[str]) -> tuple[bytes, str]:
            value: Any = outputs if isinstance(q, list) else outputs[0]
            return json.dumps({"translatedText": value}).encode(), "application/json"

        self._serve(request, texts, render)

    def _libre_languages(self, request: BaseHTTPRequestHandler) -> None:
        if self.libre_languages is None:
            self._send(request, 404, b"Not Found", "text/plain")
            return
        listed = [{"code": code, "name": code, "targets": ["en"]} for code in self.libre_languages]
        self._send(request, 200, json.dumps(listed).encode(), "application/json")

    def _deepl_usage(self, request: BaseHTTPRequestHandler) -> None:
        count, limit = self.deepl_usage
        body = json.dumps({"character_count": count, "character_limit": limit}).encode()
        self._send(request, 200, body, "application/json")

    def _deepl(self, request: BaseHTTPRequestHandler) -> None:
        if not (request.headers.get("Authorization") or "").startswith("DeepL-Auth-Key "):
            self._send(request, 403, b'{"message": "Wrong endpoint"}', "application/json")
            return
        body = self._body(request)
        texts = body.get("text", [])
        texts = texts if isinstance(texts, list) else [texts]

        def render(outputs: list[str]) -> tuple[bytes, str]:
            translations = [
                {
                    "detected_source_language": str(body.get("source_lang", "UK")),
                    "text": out,
                    "billed_characters": len(text),
                }
                for out, text in zip(outputs, texts, strict=True)
            ]
            return json.dumps({"translations": translations}).encode(), "application/json"

        self._serve(request, texts, render)


def translate_all(svc: TranslationService, articles: list[dict[str, str | None]], source: str = "uk") -> list[Outcome]:
    """Every article through ``svc`` at once, as a crawl's pipeline would; the service is closed after."""

    async def run() -> list[Outcome]:
        return await asyncio.gather(*(svc.translate(fields, source, "en") for fields in articles))

    try:
        return asyncio.run(run())
    finally:
        svc.close()
