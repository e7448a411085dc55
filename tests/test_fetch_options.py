"""Per-source fetch options (crawler/config/fetch_options.py, crawler/net/source_fetch.py) and
the guard proxy the browser goes through (crawler/net/guard_proxy.py), in process: the file's
keys and their mistakes, what a request of a source carries, and what the guard proxy lets
through to real loopback servers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.config.fetch_options import Proxy, RenderMode
from crawler.config.sources_file import SourcesError, load_sources
from crawler.net.failures import ProxyCredentialsMissing
from crawler.net.guard_proxy import GuardProxy, Upstream
from crawler.net.source_fetch import RENDER_META, ProxyCredentials, SourceFetch
from tests.site.resist import ConnectionLog, RecordingProxy
from tests.site.server import Site

FILE = """\
defaults:
  fetch:
    headers: {Accept-Language: "uk,ru;q=0.8", X-Everyone: "1"}
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) monitor"
    proxy: {url: "http://10.0.0.5:3128", credentials_env: RU_PROXY}
sources:
  - name: tass
    feeds: [https://tass.ru/rss/v2.xml]
    headers: {X-Everyone: null, Referer: "https://tass.ru/"}
    cookies: {consent: accepted}
    render: auto
  - name: unian
    feeds: [https://www.unian.ua/rss]
    proxy: false
    fetch:
      render: true
      cookies: {gdpr: "1"}
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return load_sources(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SourcesError) as caught:
        load(tmp_path, text)
    return str(caught.value).splitlines()


def test_defaults_and_sources_merge(tmp_path: Path) -> None:
    tass, unian = load(tmp_path, FILE).sources
    assert tass.fetch.headers == (("Accept-Language", "uk,ru;q=0.8"), ("Referer", "https://tass.ru/")), (
        "headers merge by name; null removes a default"
    )
    assert tass.fetch.cookies == (("consent", "accepted"),)
    assert tass.fetch.user_agent == "Mozilla/5.0 (X11; Linux x86_64) monitor"
    assert tass.fetch.proxy == Proxy("http://10.0.0.5:3128", "RU_PROXY")
    assert tass.fetch.render is RenderMode.AUTO
    assert unian.fetch.proxy is None, "proxy: false turns the default proxy off"
    assert unian.fetch.render is RenderMode.ALWAYS and unian.fetch.cookies == (("gdpr", "1"),), "a source's fetch block"
    assert unian.fetch.headers == (("Accept-Language", "uk,ru;q=0.8"), ("X-Everyone", "1"))


def test_mistakes_name_line_source_and_key(tmp_path: Path) -> None:
    text = """\
sources:
  - name: a
    feeds: [https://a.example/rss]
    proxy: "http://user:secret@proxy.example:3128"
    headers: {Cookie: "x=1", Host: a.example, "bad name": x, X-Ok: "line\\nbreak"}
  - name: b
    feeds: [https://b.example/rss]
    render: sometimes
    cookies: {session: "a;b"}
    proxy: {url: "socks5://proxy.example:1080", credentials_env: "not-a-name", user: x}
    fetch: {headres: {}}
  - name: c
    feeds: [https://c.example/rss]
    user_agent: x
    fetch: {user_agent: y}
"""
    lines = problems(tmp_path, text)
    joined = "\n".join(lines)
    assert "secret" not in joined, "a password written in the file is never repeated"
    expected = [
        ("sources.yaml:4:", "'a', key 'proxy'", "credentials never go in the file"),
        ("sources.yaml:5:", "key 'headers.Cookie'", "cookies key"),
        ("sources.yaml:5:", "key 'headers.Host'", "HTTP layer"),
        ("sources.yaml:5:", "key 'headers.bad name'", "not a valid header name"),
        ("sources.yaml:5:", "key 'headers.X-Ok'", "single-line"),
        ("sources.yaml:8:", "'b', key 'render'", "true, false or auto"),
        ("sources.yaml:9:", "key 'cookies.session'", "without ';'"),
        ("sources.yaml:10:", "key 'proxy.url'", "http or https"),
        ("sources.yaml:10:", "key 'proxy.credentials_env'", "not a variable name"),
        ("sources.yaml:10:", "key 'proxy.user'", "unknown key"),
        ("sources.yaml:11:", "key 'fetch.headres'", "did you mean 'headers'"),
        ("sources.yaml:15:", "'c', key 'fetch.user_agent'", "also given outside the fetch block"),
    ]
    for where, key, says in expected:
        assert any(where in line and key in line and says in line for line in lines), (where, key, says, lines)


def crawler_for(tmp_path: Path, text: str = FILE):
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    crawler = get_crawler(Spider, {"SOURCES_FILE": str(tmp_path / "sources.yaml")})
    crawler.spider = crawler._create_spider("test")
    return crawler


def test_every_request_of_a_source_carries_its_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crawler = crawler_for(tmp_path)
    fetch, credentials = build_from_crawler(SourceFetch, crawler), build_from_crawler(ProxyCredentials, crawler)
    monkeypatch.setenv("RU_PROXY", "monitor:s3cr:et")
    discovery = Request("https://tass.ru/rss/v2.xml", meta={"source": "tass", "discovery": "feed"})
    article = Request("https://tass.ru/politika/1", meta={"source": "tass"})
    robots = Request("https://tass.ru/robots.txt", meta={"dont_obey_robotstxt": True})
    for request in (discovery, article, robots):
        fetch.process_request(request)
        assert request.headers["Referer"] == b"https://tass.ru/" and b"X-Everyone" not in request.headers
        assert request.headers["User-Agent"] == b"Mozilla/5.0 (X11; Linux x86_64) monitor"
        assert request.cookies == {"consent": "accepted"}
        assert request.meta["proxy"] == "http://10.0.0.5:3128", "no credentials in meta, ever"
        assert RENDER_META not in request.meta, "render: auto renders only a page that needs it"
        credentials.process_request(request)
        assert request.headers["Proxy-Authorization"] == b"Basic bW9uaXRvcjpzM2NyOmV0"
        credentials.process_response(request, Response(request.url))
        assert b"Proxy-Authorization" not in request.headers, "taken off once downloaded: no copy carries it"
    # The robots.txt of a feed host outside allowed_domains is the source's too.
    feed_host = crawler_for(
        tmp_path,
        FILE.replace(
            "[https://tass.ru/rss/v2.xml]", "[https://rss.tass.example/v2.xml]\n    allowed_domains: [tass.ru]"
        ),
    )
    robots_elsewhere = Request("https://rss.tass.example/robots.txt", meta={"dont_obey_robotstxt": True})
    build_from_crawler(SourceFetch, feed_host).process_request(robots_elsewhere)
    assert robots_elsewhere.meta["proxy"] == "http://10.0.0.5:3128"
    page = Request("https://www.unian.ua/news/1", meta={"source": "unian"})
    feed = Request("https://www.unian.ua/rss", meta={"source": "unian", "discovery": "feed"})
    fetch.process_request(page)
    fetch.process_request(feed)
    assert page.meta[RENDER_META] is True and RENDER_META not in feed.meta, "render: true renders article pages"
    assert "proxy" not in page.meta
    monkeypatch.delenv("RU_PROXY")
    with pytest.raises(ProxyCredentialsMissing) as missing:
        credentials.process_request(
            Request("https://tass.ru/x", meta={"source": "tass", "proxy": "http://10.0.0.5:3128"})
        )
    assert "RU_PROXY" in str(missing.value)


async def _ask(proxy_url: str, head: bytes) -> bytes:
    host, port = proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def test_guard_proxy_lets_through_only_what_the_guard_allows() -> None:
    refused: list[tuple[str, str]] = []
    log = ConnectionLog()
    try:
        with Site() as site:
            site.add("/page", "<html><body>hello</body></html>")
            port = site.url("").rsplit(":", 1)[1]

            async def scenario() -> list[bytes]:
                guard = GuardProxy(frozenset({"127.0.0.1"}), None, lambda host, why: refused.append((host, why)))
                url = await guard.start()
                answers = [
                    await _ask(url, f"GET http://127.0.0.1:{port}/page HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
                    await _ask(url, f"GET {log.url('/secret')} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
                    await _ask(url, f"CONNECT {log.host}:{log.port} HTTP/1.1\r\n\r\n".encode()),
                    await _ask(url, b"GET file:///etc/passwd HTTP/1.1\r\n\r\n"),
                ]
                await guard.close()
                return answers

            page, secret, tunnel, scheme = asyncio.run(scenario())
    finally:
        log.close()
    assert page.startswith(b"HTTP/1.0 200") or page.startswith(b"HTTP/1.1 200")
    assert page.endswith(b"hello</body></html>")
    assert secret.startswith(b"HTTP/1.1 403") and tunnel.startswith(b"HTTP/1.1 403")
    assert scheme.startswith(b"HTTP/1.1 400")
    assert log.connections == [], "nothing reached the refused address"
    assert [why for _, why in refused] == ["private_address", "private_address", "scheme"]


def test_guard_proxy_chains_to_the_source_proxy_with_its_credentials() -> None:
    upstream = RecordingProxy("monitor", "pa55").start()
    try:
        with Site() as site:
            site.add("/page", "<html><body>through the proxy</body></html>")
            port = site.url("").rsplit(":", 1)[1]

            async def scenario() -> bytes:
                hop = Upstream.of(upstream.url, ("monitor", "pa55"))
                guard = GuardProxy(frozenset({"127.0.0.1"}), hop, lambda host, why: None)
                url = await guard.start()
                answer = await _ask(url, f"GET http://127.0.0.1:{port}/page HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                await guard.close()
                return answer

            answer = asyncio.run(scenario())
    finally:
        upstream.close()
    assert answer.endswith(b"through the proxy</body></html>")
    assert [(hit.method, hit.authorized) for hit in upstream.hits] == [("GET", True)]
    assert upstream.hits[0].target == f"http://127.0.0.1:{port}/page"


def test_which_refused_pages_a_browser_may_read() -> None:
    from crawler.parsing.article import extract_article
    from crawler.parsing.records import ExtractionOptions, Rejected
    from crawler.parsing.walls import is_script_challenge
    from tests.site.resist import _shell
    from tests.site.walls import APP_SHELL_UK, CONSENT_EN, CONSENT_UK

    def refusal(html: str) -> Rejected:
        result = extract_article(html.encode(), ExtractionOptions(url="https://news.example/a/1"))
        assert isinstance(result, Rejected), result
        return result

    assert refusal(APP_SHELL_UK).needs_browser, "a server-rendered menu and footer around an empty #root"
    assert refusal(_shell("")).needs_browser, "an empty shell asking for JavaScript"
    assert not refusal(CONSENT_EN).needs_browser and not refusal(CONSENT_UK).needs_browser, (
        "a cookie wall needs cookies:"
    )
    challenge = "<html><head><title>Just a moment...</title></head><body><div id='cf-challenge'></div></body></html>"
    captcha = "<html><head><title>Are you a robot?</title></head><body><div class='g-recaptcha'></div></body></html>"
    assert refusal(challenge).needs_browser and not refusal(captcha).needs_browser, "a captcha needs a person"
    assert is_script_challenge(b"<title>DDoS-Guard</title>") and not is_script_challenge(b"<title>Forbidden</title>")
