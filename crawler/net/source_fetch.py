"""A source's fetch options (crawler/config/fetch_options.py) on every request of the source.

Discovery documents, articles, revisits and the robots.txt Scrapy asks for on the way all
go out with the source's headers, cookies and user agent, through its proxy: a site that
answers only a reader's request, or only from one place, must see the same request each
time.

A proxy's credentials are read from the environment for each request and put in its
Proxy-Authorization header only for the download: ``ProxyCredentials`` sits after Scrapy's
HttpProxyMiddleware and takes the header off again when the answer (or the error) comes
back, so that no copy of the request (a retry, a redirect, a JOBDIR queue on disk) carries
them, and neither does anything logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.config.fetch_options import FetchOptions, Proxy, RenderMode, basic_authorization
from crawler.config.sources_file import Source, SourcesError, load_sources
from crawler.net.failures import ProxyCredentialsMissing
from crawler.parsing.urls import host_of

__all__ = [
    "RENDER_META",
    "ProxyCredentials",
    "SourceFetch",
    "apply_fetch_options",
    "is_page_request",
    "proxy_authorization",
    "proxy_credentials",
]

# Request meta: render this request in the browser (crawler/net/render_handler.py).
RENDER_META = "render"
_PROXY_AUTHORIZATION = b"Proxy-Authorization"


def proxy_credentials(proxy: Proxy, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from the environment (None: the proxy needs none); raises
    ProxyCredentialsMissing when the variable is named but unset or malformed."""
    credentials = proxy.credentials(environ)
    if isinstance(credentials, str):
        raise ProxyCredentialsMissing(credentials)
    return credentials


def proxy_authorization(proxy: Proxy, environ: Mapping[str, str]) -> bytes | None:
    """The Proxy-Authorization value from the environment (None: the proxy needs none)."""
    credentials = proxy_credentials(proxy, environ)
    return None if credentials is None else basic_authorization(credentials)


def is_page_request(request: Request) -> bool:
    """An article page (a fetch, a revisit, a probe), not a discovery document or robots.txt."""
    meta = request.meta
    return "discovery" not in meta and not meta.get("dont_obey_robotstxt") and "archived" not in meta


def apply_fetch_options(request: Request, options: FetchOptions) -> None:
    """Set the source's headers, user agent, cookies, proxy and render flag on ``request``."""
    for name, value in options.headers:
        request.headers[name] = value
    if options.user_agent:
        request.headers["User-Agent"] = options.user_agent
    if options.cookies:
        if isinstance(request.cookies, dict):
            for name, value in options.cookies:
                request.cookies.setdefault(name, value)
        else:
            named = {cookie.get("name") for cookie in request.cookies}
            request.cookies.extend({"name": n, "value": v} for n, v in options.cookies if n not in named)
    if options.proxy is not None:
        request.meta["proxy"] = options.proxy.url
    if options.render is RenderMode.ALWAYS and is_page_request(request):
        request.meta.setdefault(RENDER_META, True)


def _sources_with(crawler: Crawler, wanted: Callable[[FetchOptions], bool]) -> tuple[Source, ...]:
    try:
        config = load_sources(crawler.settings.get("SOURCES_FILE"))
    except SourcesError:
        raise NotConfigured from None  # the spider reports the file's problems
    sources = tuple(source for source in config.sources if wanted(source.fetch))
    if not sources:
        raise NotConfigured
    return sources


class _BySource:
    def __init__(self, sources: tuple[Source, ...]):
        self.by_name = {source.name: source for source in sources}
        # The hosts of each source's feeds, sitemaps and listings, which may lie outside its
        # allowed_domains (rss.unian.net for unian.ua): their robots.txt is the source's too.
        self.roots = {source.name: {host_of(url) for url in source.discovery_urls} for source in sources}

    def source_of(self, request: Request) -> Source | None:
        name = request.meta.get("source")
        if name is not None:
            return self.by_name.get(name)
        # robots.txt, which Scrapy asks for without the source's meta: by host.
        host = host_of(request.url)
        return next((s for s in self.by_name.values() if s.allows(request.url) or host in self.roots[s.name]), None)


class SourceFetch(_BySource):
    """Downloader middleware, before the cookie, user agent and proxy middlewares (which
    fill in what is not set)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceFetch:
        return cls(_sources_with(crawler, lambda options: not options.plain))

    def process_request(self, request: Request, spider: object = None) -> None:  # spider: Scrapy < 2.14
        source = self.source_of(request)
        if source is not None:
            apply_fetch_options(request, source.fetch)


class ProxyCredentials(_BySource):
    """Downloader middleware after HttpProxyMiddleware: the credentials for the download only."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyCredentials:
        return cls(_sources_with(crawler, lambda options: bool(options.proxy and options.proxy.credentials_env)))

    def process_request(self, request: Request, spider: object = None) -> None:
        source = self.source_of(request)
        if source is None or source.fetch.proxy is None or request.meta.get("proxy") != source.fetch.proxy.url:
            return
        authorization = proxy_authorization(source.fetch.proxy, os.environ)
        if authorization is not None:
            request.headers[_PROXY_AUTHORIZATION] = authorization

    def process_response(self, request: Request, response: Response, spider: object = None) -> Response:
        request.headers.pop(_PROXY_AUTHORIZATION, None)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: object = None) -> None:
        request.headers.pop(_PROXY_AUTHORIZATION, None)
