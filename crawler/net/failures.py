"""Why a request failed, as a short stable name (a stats key and a summary column), decided
by exception type with ``failure.check``: never by reading messages back.

Scrapy raises a bare ``IgnoreRequest`` for robots.txt, offsite redirects, redirect loops and
oversized decompression; ``crawler/middlewares.py`` re-raises those as the typed subclasses
below, and the network guard raises ``RefusedRequest`` with its reason."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

__all__ = [
    "BlockedAddressError",
    "ForbiddenByRobots",
    "OffsiteRedirect",
    "ProxyCredentialsMissing",
    "RefusedRequest",
    "RenderError",
    "RenderTimeoutError",
    "TooLarge",
    "TooManyRedirects",
    "failure_reason",
    "failure_text",
    "retry_after",
]


class BlockedAddressError(Exception):
    """A connection to a non-public address that the sources file does not name."""


class RefusedRequest(IgnoreRequest):
    """The network guard refused a request before any connection; ``reason`` says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ForbiddenByRobots(IgnoreRequest):
    reason = "robots_txt"


class OffsiteRedirect(IgnoreRequest):
    reason = "offsite"


class TooManyRedirects(IgnoreRequest):
    reason = "redirect_loop"


class TooLarge(IgnoreRequest):
    reason = "too_large"


class ProxyCredentialsMissing(IgnoreRequest):
    """The source's proxy needs credentials from an environment variable that is unset or
    malformed: the request is not sent without them, nor around the proxy."""

    reason = "proxy_credentials"


class RenderError(Exception):
    """The browser could not render the page: it crashed, closed or the navigation failed."""


class RenderTimeoutError(RenderError):
    """The page took longer than RENDER_TIMEOUT to render."""


_TYPED_IGNORES = (
    RefusedRequest, ForbiddenByRobots, OffsiteRedirect, TooManyRedirects, TooLarge, ProxyCredentialsMissing,
)  # fmt: skip
_BY_TYPE: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    # Scrapy cancels a download that passes DOWNLOAD_MAXSIZE.
    ("too_large", (DownloadCancelledError, defer.CancelledError)),
    ("render_timeout", (RenderTimeoutError,)),
    ("render_failed", (RenderError,)),
    ("timeout", (DownloadTimeoutError, net_error.TimeoutError, net_error.TCPTimedOutError)),
    ("dns", (CannotResolveHostError, net_error.DNSLookupError)),
    (
        "connection",
        (
            DownloadConnectionRefusedError,
            DownloadFailedError,
            ResponseDataLossError,
            ResponseNeverReceived,
            ResponseFailed,
            net_error.ConnectError,
            net_error.ConnectionLost,
            net_error.ConnectionDone,
        ),
    ),
)


def failure_reason(failure: Failure) -> str:
    """A short, stable name for why a request failed."""
    if failure.check(HttpError):
        response = failure.value.response  # type: ignore[union-attr]
        location = (response.headers.get("Location") or b"").decode("latin-1").lower()
        if 300 <= response.status < 400 and location and not location.startswith(("http:", "https:", "/")):
            return "scheme"  # Scrapy does not follow redirects to file:, ftp:, data: ...
        return f"http_{response.status}"
    if failure.check(BlockedAddressError):
        return "private_address"
    if failure.check(*_TYPED_IGNORES):
        return str(failure.value.reason)  # type: ignore[union-attr]
    if failure.check(IgnoreRequest):
        return "ignored"
    for reason, types in _BY_TYPE:
        if failure.check(*types):
            return reason
    return type(failure.value).__name__.lower()


def retry_after(failure: Failure, now: float) -> float | None:
    """The Unix time an HTTP error's ``Retry-After`` (seconds, or an HTTP date) asks not to come
    back before; None when it names none."""
    if not failure.check(HttpError):
        return None
    value = (failure.value.response.headers.get("Retry-After") or b"").decode("latin-1").strip()  # type: ignore[union-attr]
    if value.isdigit():
        return now + int(value)
    try:
        return parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError, IndexError):
        return None


def failure_text(failure: Failure) -> str:
    """The failure for people: the HTTP status, else the exception and its message."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"  # type: ignore[union-attr]
    return f"{type(failure.value).__name__}: {failure.value}"
