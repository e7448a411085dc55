"""Sites that resist a plain crawler, on loopback: articles built by JavaScript, a cookie wall,
a page whose scripts reach for a refused address, a forward proxy that wants credentials,
and a listener that records every connection made to it.

The articles' texts are real pages' ground truth from ../shared/corpus; what changes is
how a site hands them out.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from tests.site.corpus import text_truth_pages
from tests.site.server import Site
from tests.site.walls import CONSENT_UK

__all__ = ["ConnectionLog", "RecordingProxy", "SpaArticle", "build_spa_site", "spa_articles"]


@dataclass(frozen=True)
class SpaArticle:
    path: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def spa_articles(count: int, language_hint: str = "") -> list[SpaArticle]:
    """``count`` articles from the corpus's ground-truth texts (reused with a number when
    there are fewer), each at /news/N."""
    texts = [page for page in text_truth_pages() if len(page.text) > 800]
    articles = []
    for n in range(count):
        page = texts[n % len(texts)]
        paragraphs = tuple(line for line in page.text.split("\n") if line.strip())[:40]
        title = (paragraphs[0][:90] if paragraphs else page.key) + f" ({n})"
        articles.append(SpaArticle(f"/news/{n}", title, (f"Article {n}.", *paragraphs)))
    return articles


# The app's script: the article comes from /api/<path>.json, into #root; with WALL, only once
# the consent cookie is there (a cookie wall that scripts enforce).
APP_JS = """
(function () {
  var root = document.getElementById('root');
  if (window.WALL && document.cookie.indexOf('consent=accepted') < 0) {
    root.innerHTML = WALL;
    return;
  }
  fetch('/api' + location.pathname + '.json').then(function (r) { return r.json(); }).then(function (a) {
    document.title = a.title;
    var article = document.createElement('article');
    var h = document.createElement('h1');
    h.textContent = a.title;
    article.appendChild(h);
    a.paragraphs.forEach(function (text) {
      var p = document.createElement('p');
      p.textContent = text;
      article.appendChild(p);
    });
    root.appendChild(article);
  });
})();
"""


def hoard(megabytes: int) -> str:
    """A script that keeps ``megabytes`` of data in the site's IndexedDB, a store that lives in
    the browser's memory for as long as the (incognito) context: a page that makes the browser
    grow the way long runs over real sites do."""
    return (
        "<script>(function(){var open=indexedDB.open('hoard',1);"
        "open.onupgradeneeded=function(){open.result.createObjectStore('blobs');};"
        "open.onsuccess=function(){var tx=open.result.transaction('blobs','readwrite');"
        f"var data=new Uint8Array({megabytes}*1048576);"
        "for(var i=0;i<data.length;i+=65536){crypto.getRandomValues(data.subarray(i,i+65536));}"
        "tx.objectStore('blobs').put(data, location.pathname);};})();</script>"
    )


def _shell(prefix: str, extra_head: str = "", extra_body: str = "") -> str:
    return (
        '<!doctype html><html lang="uk"><head><meta charset="utf-8"><title>Новини</title>'
        f'{extra_head}<script src="{prefix}/static/app.js" defer></script></head><body><div id="root"></div>'
        f"<noscript>Увімкніть JavaScript, щоб читати новини.</noscript>{extra_body}</body></html>"
    )


def rss(site: Site, paths: list[str], title: str = "SPA news") -> str:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{escape(path)}</title><link>{escape(site.url(path))}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
        for n, path in enumerate(paths)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'


def build_spa_site(
    site: Site,
    articles: list[SpaArticle],
    *,
    prefix: str = "",
    wall: bool = False,
    extra_head: str = "",
    extra_body: str = "",
    feed: bool = True,
) -> str:
    """Serve ``articles`` under ``prefix`` as a single-page app (a shell whose script builds the
    article), with a feed at PREFIX/feed.xml; returns the feed's URL."""
    wall_js = f"window.WALL = {json.dumps(CONSENT_UK)};" if wall else ""
    site.add(f"{prefix}/static/app.js", wall_js + APP_JS, content_type="application/javascript")
    for article in articles:
        site.add(prefix + article.path, _shell(prefix, extra_head, extra_body))
        payload = {"title": article.title, "paragraphs": list(article.paragraphs)}
        body = json.dumps(payload, ensure_ascii=False)
        site.add(f"/api{prefix}{article.path}.json", body, content_type="application/json")
    paths = [prefix + a.path for a in articles]
    return site.add(f"{prefix}/feed.xml", rss(site, paths), content_type="application/rss+xml") if feed else ""


def script_challenge(article: SpaArticle | None) -> Any:
    """A handler: a JavaScript challenge as DDoS-protection services serve it (503, "Just a
    moment...", a script that sets a clearance cookie and reloads), then the article; with
    None, a challenge no browser passes."""
    challenge = (
        b"<!doctype html><html><head><title>Just a moment...</title></head><body>"
        b'<div id="challenge-platform">Checking your browser before accessing the site.</div>'
        b"<script>setTimeout(function(){document.cookie='clearance=passed; path=/';location.reload();},300);</script>"
        b"</body></html>"
    )

    def handler(request: BaseHTTPRequestHandler) -> None:
        passed = article is not None and "clearance=passed" in (request.headers.get("Cookie") or "")
        body, status = (article_html(article).encode(), 200) if passed and article else (challenge, 503)
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def article_html(article: SpaArticle) -> str:
    """The same article as a server-rendered page."""
    paragraphs = "".join(f"<p>{escape(text)}</p>" for text in article.paragraphs)
    return (
        f'<!doctype html><html lang="uk"><head><meta charset="utf-8"><title>{escape(article.title)}</title></head>'
        f"<body><article><h1>{escape(article.title)}</h1>{paragraphs}</article></body></html>"
    )


def cookie_wall(article: SpaArticle, cookie: str) -> Any:
    """A handler: the consent dialog, or with ``cookie`` (name=value) sent, the article."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        cookies = request.headers.get("Cookie") or ""
        body = (article_html(article) if cookie in cookies.replace(" ", "").split(";") else CONSENT_UK).encode()
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


# --- a listener that records every connection, and a credentialed proxy ------------------


class ConnectionLog:
    """Listens on ``host`` and records each connection made to it (before any byte is read),
    then answers 200 to whatever HTTP it receives: a refused address that would serve."""

    def __init__(self, host: str = "127.0.0.2"):
        log = self
        self.connections: list[tuple[float, str]] = []
        self._lock = threading.Lock()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with log._lock:
                    log.connections.append((datetime.now(UTC).timestamp(), ""))
                self.request.settimeout(2)
                with contextlib.suppress(OSError):
                    first = self.request.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                    with log._lock:
                        log.connections[-1] = (log.connections[-1][0], first)
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nSECRET")

        self.server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class ProxyHit:
    method: str
    target: str
    authorized: bool


@dataclass
class RecordingProxy:
    """A forward proxy on 127.0.0.1 (absolute-form requests and CONNECT) that wants Basic
    ``user:password`` credentials and records every request made through it."""

    user: str
    password: str
    hits: list[ProxyHit] = field(default_factory=list)

    def start(self) -> RecordingProxy:
        proxy = self
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                head, _, rest = head.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                authorized = headers.get("Proxy-Authorization") == expected
                proxy.hits.append(ProxyHit(method, target, authorized))
                lines.insert(1, "Via: 1.1 recording-proxy")
                if not authorized:
                    self.request.sendall(
                        b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="t"\r\n'
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    return
                proxy._forward(self.request, method, target, lines, rest)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _forward(self, client: socket.socket, method: str, target: str, lines: list[str], rest: bytes) -> None:
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=10)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [
                line for line in lines[1:]
                if not line.lower().startswith(("proxy-authorization", "proxy-connection", "connection"))
            ]  # fmt: skip
            head = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close"]) + "\r\n\r\n"
            upstream.sendall(head.encode("latin-1") + rest)
        _pipe(client, upstream)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()
