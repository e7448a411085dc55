"""The proxy on loopback through which the browser reaches the web, so that the network
guard (crawler/net/guard.py) sees every connection a rendered page makes.

A page's scripts, images, frames, redirects, preconnects and WebSockets are the browser's
own requests: Playwright's request routing misses some of them (it is not called for the
hops of a redirect), and the browser resolves names itself. Pointed at this proxy, the
browser resolves nothing and connects nowhere else: each CONNECT tunnel or plain request
is checked here on the address it will actually reach, and that address is the one
connected to (no second lookup for a rebinding DNS to answer differently). A source's own
proxy is the next hop: requests go on to it with its credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.config.fetch_options import basic_authorization
from crawler.net.guard import is_public_address

__all__ = ["GuardProxy", "Upstream"]

logger = logging.getLogger(__name__)

_HEAD_LIMIT = 64 * 1024
_HEAD_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
# Request headers meant for a proxy, not for the site.
_HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


@dataclass(frozen=True, slots=True)
class Upstream:
    """The source's proxy: where tunnels and requests go next, and its Basic credentials."""

    host: str
    port: int
    credentials: tuple[str, str] | None = None

    @classmethod
    def of(cls, url: str, credentials: tuple[str, str] | None) -> Upstream:
        parts = urlsplit(url)
        return cls(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), credentials)

    def authorization(self) -> bytes:
        if self.credentials is None:
            return b""
        return b"Proxy-Authorization: " + basic_authorization(self.credentials) + b"\r\n"


def _target(method: bytes, target: bytes) -> tuple[str, int] | None:
    """The host and port a proxy request asks for (CONNECT host:port, or an absolute http URL)."""
    text = target.decode("latin-1")
    if method == b"CONNECT":
        host, _, port = text.rpartition(":")
        host = host.strip("[]")
        return (host.lower(), int(port)) if host and port.isdigit() else None
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        return None
    try:
        return parts.hostname.lower(), parts.port or 80
    except ValueError:
        return None


def _origin_form(head: bytes) -> bytes:
    """A proxy request's head as the site expects it: path-only request line, no proxy headers,
    one request per connection."""
    request_line, _, headers = head.partition(b"\r\n")
    method, target, version = request_line.split(b" ", 2)
    parts = urlsplit(target.decode("latin-1"))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [line for line in headers.split(b"\r\n") if line and not line.lower().startswith(_HOP_HEADERS)]
    line = b" ".join([method, path.encode("latin-1"), version])
    return b"\r\n".join([line, *kept, b"Connection: close"]) + b"\r\n\r\n"


def _for_upstream(head: bytes, upstream: Upstream) -> bytes:
    request_line, _, headers = head.partition(b"\r\n")
    kept = [line for line in headers.split(b"\r\n") if line and not line.lower().startswith(_HOP_HEADERS)]
    extra = upstream.authorization() + (b"" if request_line.startswith(b"CONNECT ") else b"Connection: close\r\n")
    return b"\r\n".join([request_line, *kept]) + b"\r\n" + extra + b"\r\n"


class GuardProxy:
    """``await start()`` gives the proxy URL for the browser; ``refused(host, reason)`` is
    told of every connection refused."""

    def __init__(
        self, allowed: frozenset[str] | None, upstream: Upstream | None, refused: Callable[[str, str], None]
    ) -> None:
        self.allowed = allowed
        self.upstream = upstream
        self.refused = refused
        self.open = True
        self._warned: set[str] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    def closed(cls, refused: Callable[[str, str], None]) -> GuardProxy:
        """A proxy that lets nothing through (the browser's own requests)."""
        proxy = cls(frozenset(), None, refused)
        proxy.open = False
        return proxy

    async def start(self) -> str:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _address(self, host: str, port: int) -> str | None:
        """The address to connect to: one the guard allows. None when the name leads only
        to refused addresses (or, with no upstream to ask, does not resolve)."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            if self.upstream is not None:
                return host  # the source's proxy resolves what this network cannot
            self.refused(host, "dns")
            logger.debug("Browser: %s does not resolve (%s)", host, exc)
            return None
        addresses = [info[4][0] for info in infos]
        if self.allowed is None or host in self.allowed:
            return addresses[0]
        public = [address for address in addresses if is_public_address(address)]
        if not public:
            self.refused(host, "private_address")
            # Once per host and proxy: a page's scripts may try the same host many times.
            level = logging.DEBUG if host in self._warned else logging.WARNING
            self._warned.add(host)
            logger.log(level, "Browser: refused a connection to %s (%s, not a public address)", host, addresses[0])
            return None
        return public[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT)
            await self._relay(head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError) as exc:
            logger.debug("Browser proxy: connection ended early (%s)", type(exc).__name__)
        finally:
            writer.close()

    async def _relay(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, target, _ = [*head.split(b"\r\n", 1)[0].split(b" ", 2), b"", b""][:3]
        destination = _target(method, target)
        if destination is None:
            self.refused(target.decode("latin-1")[:100], "scheme")
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, port = destination
        if not self.open:
            self.refused(host, "closed")
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        address = await self._address(host, port)
        if address is None:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        hop = (self.upstream.host, self.upstream.port) if self.upstream is not None else (address, port)
        try:
            far_reader, far_writer = await asyncio.wait_for(asyncio.open_connection(*hop), _CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            logger.debug("Browser proxy: cannot reach %s:%s (%s)", *hop, exc)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if self.upstream is not None:
            far_writer.write(_for_upstream(head, self.upstream))
        elif method == b"CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            far_writer.write(_origin_form(head))
        await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError) as exc:
        logger.debug("Browser proxy: a tunnel closed (%s)", type(exc).__name__)
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()
