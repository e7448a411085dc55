"""A plain HTTP fetch outside Scrapy, for ``sources discover``: one site, a few pages, at the
operator's command. It keeps the crawl's limits, its User-Agent and its network guard,
following redirects by hand so that every hop is checked."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler import settings as defaults
from crawler.net.guard import allowed_hosts, is_public_address
from crawler.net.site_finder import Fetch, FetchError

__all__ = ["plain_fetcher"]


def plain_fetcher(settings: Any, named_hosts: set[str]) -> Fetch:
    """A fetch with the crawl's limits and User-Agent, through the network guard; ``named_hosts``
    are the hosts the operator named on the command line (they may be private)."""
    import requests

    allowed = allowed_hosts(settings)
    session = requests.Session()
    session.headers["User-Agent"] = settings.get("USER_AGENT")
    session.max_redirects = settings.getint("REDIRECT_MAX_TIMES", defaults.REDIRECT_MAX_TIMES)
    timeout = min(settings.getfloat("DOWNLOAD_TIMEOUT", defaults.DOWNLOAD_TIMEOUT), 30)
    limit = settings.getint("DOWNLOAD_MAXSIZE", defaults.DOWNLOAD_MAXSIZE)

    def check_host(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"only http and https URLs are fetched: {url}")
        host = (parts.hostname or "").lower()
        if allowed is None or host in named_hosts or host in allowed:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)}
        except OSError as exc:
            raise FetchError(f"DNS lookup failed for {host}: {exc.strerror or exc}") from None
        if not all(is_public_address(address) for address in addresses):
            raise FetchError(f"{host} resolves to a non-public address; refused")

    def fetch(url: str) -> tuple[str, int, str, bytes]:
        # Redirects are followed by hand so that every hop passes the network guard.
        for _ in range(session.max_redirects + 1):
            check_host(url)
            try:
                response = session.get(url, timeout=timeout, stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                detail = str(exc.args[0]) if exc.args else ""
                raise FetchError(f"{exc.__class__.__name__}: {detail[:200]}") from None
            if response.is_redirect and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            try:
                body = b""
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"larger than {limit} bytes")
            except requests.RequestException as exc:
                raise FetchError(f"{exc.__class__.__name__}: {str(exc)[:200]}") from None
            finally:
                response.close()
            return url, response.status_code, response.headers.get("Content-Type", ""), body
        raise FetchError(f"more than {session.max_redirects} redirects")

    return fetch
