"""In-process tests of single components, in the style of Scrapy's own tests
(tests/test_downloadermiddleware_offsite.py): a crawler from ``get_crawler``, the component
from ``build_from_crawler``, and direct calls with real requests and responses."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    DropItem,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Request, Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet import error as net_error
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.items import ArticleItem
from crawler.middlewares import HttpCompressionMiddleware, RedirectMiddleware, RobotsTxtMiddleware
from crawler.net.failures import (
    BlockedAddressError,
    ForbiddenByRobots,
    RefusedRequest,
    TooLarge,
    TooManyRedirects,
    failure_reason,
)
from crawler.net.guard import NetworkGuardMiddleware
from crawler.pipelines import DuplicatePipeline


def crawler_with(**settings: object):
    crawler = get_crawler(Spider, {"SOURCES_FILE": "/nonexistent/sources.yaml", **settings})
    crawler.spider = crawler._create_spider("test")
    return crawler


def failed(error: BaseException, request: Request | None = None) -> Failure:
    failure = Failure(error)
    failure.request = request or Request("https://example.com/a")  # type: ignore[attr-defined]
    return failure


def http_error(status: int, location: str | None = None) -> HttpError:
    headers = {"Location": location} if location else {}
    return HttpError(Response("https://example.com/a", status=status, headers=headers), "ignored")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (http_error(404), "http_404"),
        (http_error(503), "http_503"),
        (http_error(302, "ftp://example.com/file"), "scheme"),
        (RefusedRequest("private_address", "10.0.0.1 is not a public address"), "private_address"),
        (BlockedAddressError("intranet resolves to 10.0.0.2"), "private_address"),
        (ForbiddenByRobots("Forbidden by robots.txt"), "robots_txt"),
        (TooManyRedirects("max redirections reached"), "redirect_loop"),
        (TooLarge("body too large"), "too_large"),
        (IgnoreRequest("something else"), "ignored"),
        # The message does not matter: a timeout mentioning DNS is still a timeout.
        (DownloadTimeoutError("dns lookup took too long"), "timeout"),
        (net_error.TCPTimedOutError(), "timeout"),
        (CannotResolveHostError("no such host"), "dns"),
        (net_error.DNSLookupError("no such host"), "dns"),
        (DownloadConnectionRefusedError(), "connection"),
        (net_error.ConnectionRefusedError(), "connection"),
        (ResponseDataLossError(), "connection"),
        (DownloadCancelledError("maxsize"), "too_large"),
        (ValueError("odd"), "valueerror"),
    ],
)
def test_failure_reason_by_type(error: BaseException, reason: str) -> None:
    assert failure_reason(failed(error)) == reason


@pytest.mark.parametrize(
    ("url", "allowed", "reason"),
    [
        ("file:///etc/passwd", "", "scheme"),
        ("ftp://example.com/x", "", "scheme"),
        ("http://10.1.2.3/feed.xml", "", "private_address"),
        ("http://[::1]:8080/feed.xml", "", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "", "private_address"),
        ("http://10.1.2.3/feed.xml", "10.1.2.3", None),
        ("http://93.184.216.34/feed.xml", "", None),
    ],
)
def test_network_guard_refuses_with_a_typed_reason(url: str, allowed: str, reason: str | None) -> None:
    """IP literals and schemes are decided without a lookup, so the coroutine needs no reactor."""
    crawler = crawler_with(NETWORK_ALLOW_HOSTS=allowed)
    guard = build_from_crawler(NetworkGuardMiddleware, crawler)
    if reason is None:
        assert asyncio.run(guard.process_request(Request(url))) is None
        return
    with pytest.raises(RefusedRequest) as refused:
        asyncio.run(guard.process_request(Request(url)))
    assert refused.value.reason == reason
    assert crawler.stats.get_value(f"network/refused/{reason}") == 1


def test_robots_txt_refusal_is_typed() -> None:
    crawler = crawler_with(ROBOTSTXT_OBEY=True)
    middleware = build_from_crawler(RobotsTxtMiddleware, crawler)
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /private/\n")
    middleware.process_request_2(parser, Request("https://example.com/news/1.html"))
    with pytest.raises(ForbiddenByRobots):
        middleware.process_request_2(parser, Request("https://example.com/private/1.html"))
    assert crawler.stats.get_value("robotstxt/forbidden") == 1


def test_one_redirect_too_many_is_typed() -> None:
    crawler = crawler_with(REDIRECT_MAX_TIMES=2)
    middleware = build_from_crawler(RedirectMiddleware, crawler)
    request = Request("https://example.com/a", meta={"redirect_times": 2})
    redirect = Response("https://example.com/a", status=301, headers={"Location": "/b"})
    with pytest.raises(TooManyRedirects):
        middleware.process_response(request, redirect)
    followed = middleware.process_response(Request("https://example.com/a"), redirect)
    assert isinstance(followed, Request) and followed.url == "https://example.com/b"


def test_a_decompression_bomb_is_too_large() -> None:
    import gzip

    crawler = crawler_with(DOWNLOAD_MAXSIZE=10_000)
    middleware = build_from_crawler(HttpCompressionMiddleware, crawler)
    body = gzip.compress(b"<html>" + b" " * 1_000_000 + b"</html>")
    response = HtmlResponse("https://example.com/a", body=body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(TooLarge):
        middleware.process_response(Request("https://example.com/a"), response)


def test_project_settings_use_the_typed_middlewares() -> None:
    mws = project_settings.DOWNLOADER_MIDDLEWARES
    for name in ("RobotsTxtMiddleware", "OffsiteMiddleware", "RedirectMiddleware", "HttpCompressionMiddleware"):
        assert f"crawler.middlewares.{name}" in mws
        assert any(key.startswith("scrapy.") and key.endswith(name) and value is None for key, value in mws.items())


def article(url: str) -> ArticleItem:
    return ArticleItem(
        id="a1", source="s", url=url, canonical_url="https://e.com/1", discovered_via={"kind": "feed", "url": "x"},
        title="t", text="text", summary=None, author=None, published=None, fetched_at="2026-12-01T00:00:00Z",
        language="uk", language_confidence=1.0, tags=[],
    )  # fmt: skip


def test_duplicate_pipeline_drops_the_second_url_of_one_article() -> None:
    crawler = crawler_with()
    pipeline = build_from_crawler(DuplicatePipeline, crawler)
    item = article("https://e.com/1")
    assert pipeline.process_item(item) is item
    with pytest.raises(DropItem):
        pipeline.process_item(article("https://e.com/amp/1"))
    assert crawler.stats.get_value("sources/s/not_emitted/duplicate") == 1


def test_a_spider_built_without_the_project_settings_keeps_their_defaults(tmp_path) -> None:
    """Every default has one home, settings.py: a component built from Scrapy's own settings
    (get_crawler) reads the same values a `scrapy crawl` does."""
    from crawler.frontier.revisit import RevisitPolicy
    from crawler.health.assess import HealthRules
    from crawler.spiders.sources_spider import SourcesSpider, SpiderConfig

    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: s\n    feeds: [https://example.org/rss.xml]\n", encoding="utf-8")
    crawler = get_crawler(SourcesSpider, {"SOURCES_FILE": str(sources), "STATE_DB": str(tmp_path / "s.sqlite3")})
    spider = SourcesSpider.from_crawler(crawler)
    assert spider.frontier.quotas.default == project_settings.SOURCES_MAX_ARTICLES == 500
    assert spider.config == SpiderConfig(), "every default of the spider's config is its setting's"
    assert spider.config.frozen_days == project_settings.CHECK_FROZEN_DAYS
    assert spider.config.max_pages == project_settings.DISCOVERY_MAX_PAGES
    assert HealthRules.from_settings(crawler.settings).frozen_days == project_settings.CHECK_FROZEN_DAYS
    assert RevisitPolicy.from_settings(crawler.settings) == RevisitPolicy()
    assert RevisitPolicy().per_run == project_settings.DISCOVERY_REVISITS_PER_RUN
    spider.extractor.close()


def test_a_components_config_reads_each_setting_as_its_fields_type_with_its_settings_default() -> None:
    from scrapy.settings import Settings

    from crawler.translation.service import ServiceConfig
    from crawler.workers.pool import PoolConfig

    settings = Settings({"TRANSLATION_TIMEOUT": "2.5", "TRANSLATION_CACHE": "0", "TRANSLATION_RETRIES": "7"})
    config = ServiceConfig.from_settings(settings)
    assert (config.timeout, config.cache, config.retries) == (2.5, False, 7), "text from -s, typed by the field"
    assert config.concurrency == project_settings.TRANSLATION_CONCURRENCY, "unset: the default in settings.py"
    assert ServiceConfig.from_settings(Settings()) == ServiceConfig()
    pool = PoolConfig.from_settings(Settings({"EXTRACTION_WORKER_MAX_MB": "120"}))
    assert pool == PoolConfig(worker_max_mb=120.0) and pool.workers == project_settings.EXTRACTION_WORKERS
