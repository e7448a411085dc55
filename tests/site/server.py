"""A real HTTP server on 127.0.0.1 for crawl tests: static routes plus scripted behaviours.

Routes answer with fixed bytes (with ETag / Last-Modified and conditional GET
support) or run a handler function, which can stall, trickle, reset or answer
with any status. Every request is recorded so tests can assert what the crawler
fetched and how.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Handler", "Route", "Site", "answer_slowly", "reset_connection", "unavailable"]


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True
    modified: float = field(default_factory=lambda: time.time() - 3600)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    time: float
    host: str = ""


class Site:
    """Start with ``with Site() as site:``; ``site.url(path)`` gives absolute URLs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self.routes: dict[str, Route] = {}
        self.handlers: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        # Served for any path no route or handler knows (a site that answers 200 to everything);
        # None: 404.
        self.fallback: Route | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- content -----------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        host: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Serve ``body`` at ``path``; with ``host``, only for that virtual host (see ``proxy``)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[f"//{host}{path}" if host else path] = Route(body=body, content_type=content_type, **kwargs)
        return f"http://{host}{path}" if host else self.url(path)

    def handle(self, path: str, handler: Handler) -> str:
        self.handlers[path] = handler
        return self.url(path)

    def url(self, path: str) -> str:
        assert self._server is not None, "start the site first"
        port = self._server.server_port
        return f"http://{self.host}{'' if port == 80 else f':{port}'}{path}"

    @property
    def base(self) -> str:
        return self.url("")

    @property
    def proxy(self) -> str:
        """This server as an HTTP proxy: requests for any host name reach it (``http_proxy``),
        so a test can serve a site spread over subdomains that no DNS knows."""
        return self.url("")

    # --- inspection ---------------------------------------------------------

    def requests_for(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(hit.path for hit in self.hits)

    def reset_hits(self) -> None:
        with self._lock:
            self.hits.clear()

    # --- server -------------------------------------------------------------

    def __enter__(self) -> Site:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        site = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle's algorithm and
            # delayed ACKs every keep-alive response would stall ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET(head=True)

            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self, head: bool = False) -> None:
                path, host = self.path, (self.headers.get("Host") or "").split(":", 1)[0]
                if path.startswith(("http://", "https://")):  # asked as a proxy
                    parts = urlsplit(path)
                    host, path = parts.hostname or "", parts.path + (f"?{parts.query}" if parts.query else "")
                # Recorded on arrival, so a request that stalls is already visible.
                with site._lock:
                    site.hits.append(Hit(self.command, path, dict(self.headers.items()), time.monotonic(), host))
                site._serve(self, path, head, host)

        self._server = _QuietServer((self.host, self.port), RequestHandler)
        self._server.daemon_threads = True
        # Stalling handlers must not hold up the end of a test.
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _serve(self, request: BaseHTTPRequestHandler, path: str, head: bool, host: str = "") -> int:
        handler = self.handlers.get(path) or self.handlers.get(path.split("?", 1)[0])
        if handler is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler(request)
            return -1
        route = (
            self.routes.get(f"//{host}{path}")
            or self.routes.get(f"//{host}{path.split('?', 1)[0]}")
            or self.routes.get(path)
            or self.routes.get(path.split("?", 1)[0])
        )
        route = route or self.fallback
        if route is None:
            body = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
            return _send(request, 404, {"Content-Type": "text/html"}, body, head)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.conditional and route.status == 200:
            last_modified = email.utils.formatdate(route.modified, usegmt=True)
            headers.setdefault("ETag", route.etag)
            headers.setdefault("Last-Modified", last_modified)
            if request.headers.get("If-None-Match") == route.etag or (
                request.headers.get("If-None-Match") is None
                and request.headers.get("If-Modified-Since") == last_modified
            ):
                return _send(request, 304, {"ETag": route.etag}, b"", head=True)
        return _send(request, route.status, headers, route.body, head)


# --- handlers of pages that fail or are slow (used with ``Site.handle``) -----------------


def unavailable(request: BaseHTTPRequestHandler) -> None:
    """503, as a site under load answers."""
    body = b"<html><head><title>503 Service Unavailable</title></head><body>Try again later</body></html>"
    _send(request, 503, {"Content-Type": "text/html"}, body, head=False)


def reset_connection(request: BaseHTTPRequestHandler) -> None:
    """The connection reset (RST) before any answer."""
    request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.connection.close()
    request.close_connection = True


def answer_slowly(body: bytes, seconds: float, status: int = 200) -> Handler:
    """``body`` after ``seconds`` (waited with an Event: time.sleep fails under libfaketime)."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        threading.Event().wait(seconds)
        _send(request, status, {"Content-Type": "text/html; charset=utf-8"}, body, head=False)

    return handler


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a crawl stopped, a timeout) is not an error of the site."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, head: bool) -> int:
    try:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if not head:
            request.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return status
