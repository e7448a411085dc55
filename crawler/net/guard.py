"""Network reach: the crawler talks to public addresses, and to the hosts the sources file names.

The crawler may run next to internal services. A feed link, a redirect or a DNS
answer must not make it fetch from a loopback, private, link-local (cloud
metadata: 169.254.169.254) or otherwise non-public address, unless that host is
one the operator wrote into the sources file (a feed, sitemap or listing URL)
or into NETWORK_ALLOW_HOSTS. Host names are checked on their resolved address,
in the DNS resolver every connection goes through; IP literals, which skip the
resolver, are checked in a downloader middleware, which also refuses every
scheme but http and https.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.request import getproxies, proxy_bypass

from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.error import TimeoutError as DNSTimeoutError

from crawler import settings as defaults
from crawler.config.sources_file import SourcesError, load_sources
from crawler.net.failures import BlockedAddressError, RefusedRequest
from crawler.parsing.urls import host_of

__all__ = ["BlockedAddressError", "GuardedResolver", "NetworkGuardMiddleware", "allowed_hosts", "is_public_address"]

logger = logging.getLogger(__name__)


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def allowed_hosts(settings: Any) -> frozenset[str] | None:
    """Hosts that may be non-public, or None when the guard is off (NETWORK_ALLOW_PRIVATE)."""
    if settings.getbool("NETWORK_ALLOW_PRIVATE", defaults.NETWORK_ALLOW_PRIVATE):
        return None
    hosts = {
        host.strip().lower().strip("[]")
        for host in settings.getlist("NETWORK_ALLOW_HOSTS", defaults.NETWORK_ALLOW_HOSTS)
        if host.strip()
    }
    try:
        config = load_sources(settings.get("SOURCES_FILE"))
    except SourcesError:
        config = None
    if config is not None:
        for source in config.sources:
            hosts.update(host_of(url).strip("[]") for url in source.discovery_urls)
            # A source's own proxy, which the operator names (and often runs on a private address).
            if source.fetch.proxy is not None:
                hosts.add(host_of(source.fetch.proxy.url).strip("[]"))
    # The operator's own HTTP proxies (http_proxy, https_proxy: Scrapy's HttpProxyMiddleware
    # sends requests through them) sit on private addresses more often than not.
    hosts.update(host_of(proxy if "://" in proxy else f"http://{proxy}") for proxy in getproxies().values())
    hosts.discard("")
    return frozenset(hosts)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing non-public answers for hosts not named."""

    allowed: frozenset[str] | None = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allowed = allowed_hosts(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802 - Twisted's interface
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        if self.allowed is None or name.lower() in self.allowed or is_public_address(address):
            return address
        raise BlockedAddressError(f"{name} resolves to {address}, which is not a public address")


class NetworkGuardMiddleware:
    """Refuses non-http(s) schemes and non-public IP literals before any connection."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.allowed = allowed_hosts(crawler.settings)
        # Schemes the environment's HTTP proxies carry (their names are resolved by the proxy).
        self.proxied = {scheme for scheme in getproxies() if scheme in ("http", "https")}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetworkGuardMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: object = None) -> None:  # spider: Scrapy < 2.14 passes it
        scheme = request.url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            self._refuse("scheme", f"only http and https are fetched, not {scheme}: {request.url[:200]}")
        host = host_of(request.url).strip("[]")
        if self.allowed is None or host in self.allowed:
            return
        if _is_ip_literal(host):
            if not is_public_address(host):
                self._refuse("private_address", f"{host} is not a public address: {request.url[:200]}")
            return
        proxied = bool(request.meta.get("proxy")) or (scheme in self.proxied and not proxy_bypass(host))
        # Resolve now, through the guarded (and caching) resolver, so that a refusal
        # happens here with its reason, before robots.txt or the connection. A proxied
        # request is checked too: the proxy would connect wherever the name leads.
        from twisted.internet import reactor

        try:
            await maybe_deferred_to_future(reactor.resolve(host))
        except BlockedAddressError:
            self._refuse("private_address", f"{host} resolves to a non-public address: {request.url[:200]}")
        except (DNSLookupError, DNSTimeoutError) as exc:
            # Not the guard's to refuse: the download meets the same error, and reports and
            # retries it as a network failure of the source. Behind a proxy, a network that
            # cannot resolve public names itself leaves the name to the proxy.
            then = "the proxy resolves it" if proxied else "the download will say so"
            logger.debug("Guard: %s did not resolve (%s); %s", host, exc, then)

    def _refuse(self, reason: str, message: str) -> None:
        self.crawler.stats.inc_value(f"network/refused/{reason}")
        raise RefusedRequest(reason, f"refused ({reason}): {message}")
