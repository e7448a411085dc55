"""HTTP for providers: requests with a hard deadline and errors the stage understands.

``requests`` timeouts bound each socket operation, not the whole call: a server
that trickles a byte every few seconds would hold a worker thread forever. Here
the body is read in small pieces against a wall-clock deadline.
"""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import requests
import urllib3

from crawler.translation.base import ErrorKind, TranslationError

__all__ = ["HttpClient", "parse_retry_after", "timed_out"]

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
_CHUNK = 16 * 1024


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


def timed_out(error: BaseException) -> bool:
    """Whether a client error is, at its root, a timeout: requests wraps urllib3's read
    timeouts in a ConnectionError (its ``reason``), and clients wrap requests' in their own."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _TIMEOUTS):
            return True
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return False


class HttpClient:
    """One ``requests.Session`` per thread (sessions are not thread-safe)."""

    def __init__(self, user_agent: str):
        self.user_agent = user_agent
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
        return session

    def request(self, method: str, url: str, deadline: float, **kwargs: Any) -> requests.Response:
        """Send a request; raise TranslationError for network trouble, 429, 5xx and other errors."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TranslationError(ErrorKind.TIMEOUT, "no time left for the call")
        try:
            response = self.session.request(
                method, url, timeout=(min(remaining, 10.0), remaining), stream=True, **kwargs
            )
        except requests.Timeout as exc:
            raise TranslationError(ErrorKind.TIMEOUT, f"{type(exc).__name__}: {exc}") from None
        except requests.ConnectionError as exc:
            raise TranslationError(ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}") from None
        except requests.RequestException as exc:
            raise TranslationError(ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}") from None
        try:
            body = self._read(response, deadline)
        finally:
            response.close()
        response._content = body  # type: ignore[attr-defined]
        self.raise_for_status(response)
        return response

    @staticmethod
    def _read(response: requests.Response, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        # read1 returns what has arrived instead of waiting for a full chunk, so a
        # server that trickles bytes meets the deadline check (urllib3 >= 2).
        read = getattr(raw, "read1", None)
        pieces = iter(lambda: read(_CHUNK, decode_content=True), b"") if read else response.iter_content(_CHUNK)
        try:
            for chunk in pieces:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise TranslationError(ErrorKind.BAD_RESPONSE, f"response larger than {MAX_RESPONSE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise TranslationError(ErrorKind.TIMEOUT, "the response did not finish in time")
        except (requests.RequestException, OSError, urllib3.exceptions.HTTPError) as exc:
            kind = ErrorKind.TIMEOUT if timed_out(exc) else ErrorKind.CONNECTION
            raise TranslationError(kind, f"{type(exc).__name__}: {exc}") from None
        return b"".join(chunks)

    @staticmethod
    def raise_for_status(response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = response.text[:200].strip().replace("\n", " ")
        message = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429:
            raise TranslationError(
                ErrorKind.RATE_LIMITED, message, parse_retry_after(response.headers.get("Retry-After"))
            )
        if status in (401, 403):
            raise TranslationError(ErrorKind.AUTH, message)
        if status == 456:  # DeepL's "quota exceeded"
            raise TranslationError(ErrorKind.QUOTA, message)
        if status >= 500:
            raise TranslationError(
                ErrorKind.SERVER_ERROR, message, parse_retry_after(response.headers.get("Retry-After"))
            )
        raise TranslationError(ErrorKind.BAD_REQUEST, message)
