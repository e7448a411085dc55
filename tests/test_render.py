"""Sites that resist a plain crawler, crawled for real over loopback: articles that JavaScript
builds, a cookie wall, a script challenge, a page whose scripts reach for a refused address,
a proxy that wants credentials, and a long run in the browser that must stay within its
memory. Chromium is Debian's (``.ci/run`` installs it); without it the browser tests fail
in CI and skip elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.evidence.warc_files import read_record
from tests.conftest import ROOT, run_crawl
from tests.site.clock import fixed_clock_env, require_libfaketime
from tests.site.procstat import pss_kib
from tests.site.resist import (
    ConnectionLog,
    RecordingProxy,
    article_html,
    build_spa_site,
    cookie_wall,
    hoard,
    rss,
    script_challenge,
    spa_articles,
)
from tests.site.server import Site


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    return path


def summary_of(tmp_path: Path) -> dict:
    found = sorted(tmp_path.glob("*.summary.json")) + sorted(tmp_path.glob("**/*summary*.json"))
    return json.loads(found[0].read_text(encoding="utf-8"))


def test_a_run_without_render_never_imports_the_browser(tmp_path: Path) -> None:
    plain = "sources:\n  - name: a\n    feeds: [https://a.example/rss]\n"
    rendering = plain + "    render: auto\n"
    probe = (
        "import sys\n"
        "from scrapy.utils.reactor import install_reactor\n"
        "install_reactor('twisted.internet.asyncioreactor.AsyncioSelectorReactor')\n"
        "from scrapy import Spider\n"
        "from scrapy.utils.test import get_crawler\n"
        "from crawler.net.render_handler import RenderingHandler\n"
        "crawler = get_crawler(Spider, {'SOURCES_FILE': sys.argv[1], 'TWISTED_REACTOR_ENABLED': True})\n"
        "handler = RenderingHandler(crawler)\n"
        "print(handler.browser is not None, 'playwright' in sys.modules, 'scrapy_playwright' in sys.modules)\n"
    )
    answers = []
    for name, text in (("plain.yaml", plain), ("rendering.yaml", rendering)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / name)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        answers.append(result.stdout.split())
    assert answers == [["False", "False", "False"], ["True", "True", "True"]]


def test_browser_reads_what_scripts_build_and_nothing_the_guard_refuses(tmp_path: Path, chromium: str) -> None:
    refused = ConnectionLog()  # 127.0.0.2: a loopback address the sources file does not name
    try:
        with Site() as site:
            run, feeds = _resisting_sites(site, refused, tmp_path)
            site_hits = list(site.hits)
    finally:
        refused.close()
    assert run.returncode == 0, run.stderr[-3000:]
    by_source: dict[str, list[dict]] = {}
    for record in run.records:
        by_source.setdefault(record["source"], []).append(record)
    # Single-page apps: the article is what the script built, in the browser.
    assert sorted(r["text"].split("\n")[0] for r in by_source["spa"]) == ["Article 0.", "Article 1.", "Article 2."]
    assert all(len(r["text"]) > 500 for r in by_source["spa"])
    # The guard's promise holds through the browser: scripts, frames, fetches, a redirect out of
    # the site, a preconnect and a WebSocket aimed at 127.0.0.2 never connected.
    assert refused.connections == [], refused.connections
    stats = run.stats
    assert stats["network/refused/browser_private_address"] >= 3 * 4
    assert stats["sources/spa/render/refused"] >= 3 * 4
    # A cookie wall enforced by the page's script opens to the configured cookie.
    assert len(by_source["walled"]) == 2 and all("cookie" not in r["text"].lower() for r in by_source["walled"])
    # Each source has its own browser context: the walled source's cookie is not in the others'
    # (their scripts' requests carry none; Scrapy's own cookie jar is the site's, all sources').
    assert all("consent" not in hit.headers.get("Cookie", "") for hit in site_hits if hit.path.startswith("/api/spa/"))
    assert any(
        "consent=accepted" in hit.headers.get("Cookie", "") for hit in site_hits if hit.path.startswith("/api/walled/")
    )
    # render: auto: the server-rendered pages read plainly, the shells and the challenge in the browser.
    assert sorted(r["text"].split("\n")[0] for r in by_source["auto"]) == [f"Article {n}." for n in range(5)]
    assert stats["sources/auto/render/auto"] == 4 and stats["sources/auto/render/pages"] == 4
    assert stats["sources/auto/render/still_blocked"] == 1, "a challenge the browser could not pass"
    assert len(site.requests_for("/auto/stuck")) >= 3 + 2, "3 plain (with retries), then the browser's reloads"
    assert len(site.requests_for("/api/auto/")) == 2, "the plain pages were not rendered"
    # A plain source: its cookie opens the wall, its headers and user agent go on every request.
    assert [r["title"] for r in by_source["plain"]] == [feeds["plain_title"]]
    for hit in site.requests_for("/plain/"):
        assert hit.headers.get("X-Monitor") == "yes" and hit.headers.get("User-Agent") == "Monitor/1.0", hit
    assert stats["sources/plain/render/needed"] == 1, "a shell of a source without render is counted"
    assert stats["render/contexts_recycled"] >= 1, "RENDER_CONTEXT_PAGES=2 recycles contexts"
    summary = summary_of(tmp_path)["sources"]
    assert summary["spa"]["render"]["pages"] == 3 and summary["spa"]["render"]["refused"] >= 12
    assert summary["auto"]["render"]["auto"] == 4 and summary["plain"]["render"]["needed"] == 1
    assert "Browser:" in run.stderr
    # The WARC archive says which pages are what the site sent and which the browser made.
    for record in run.records:
        pointer = record["warc"]
        stored = next(read_record(pointer["file"], pointer["offset"]))
        plain_in_auto = record["source"] == "auto" and record["text"].startswith(("Article 0.", "Article 1."))
        rendered = record["source"] in ("spa", "walled", "auto") and not plain_in_auto
        assert (pointer["body"], stored.rec_type) == (
            ("rendered", "conversion") if rendered else ("as_received", "response")
        ), record["url"]


def _resisting_sites(site: Site, refused: ConnectionLog, tmp_path: Path):
    articles = spa_articles(8)
    hostile_head = (
        f'<link rel="preconnect" href="{refused.url("")}"><script src="{refused.url("/x.js")}"></script>'
        f'<link rel="stylesheet" href="{refused.url("/x.css")}">'
    )
    hostile_body = (
        f'<iframe src="{refused.url("/frame")}"></iframe><img src="{refused.url("/pixel.gif")}">'
        f'<script>fetch("{refused.url("/steal")}").catch(function(){{}});fetch("/spa/out").catch(function(){{}});'
        f'try {{ new WebSocket("ws://{refused.host}:{refused.port}/ws"); }} catch (e) {{}}</script>'
    )
    site.handle("/spa/out", _redirect_to(refused.url("/redirected")))
    spa_feed = build_spa_site(site, articles[:3], prefix="/spa", extra_head=hostile_head, extra_body=hostile_body)
    walled_feed = build_spa_site(site, articles[3:5], prefix="/walled", wall=True)
    # auto: two server-rendered pages, two shells, one script challenge.
    build_spa_site(site, [articles[2], articles[3]], prefix="/auto", feed=False)
    site.add("/auto/plain/0", article_html(articles[0]))
    site.add("/auto/plain/1", article_html(articles[1]))
    site.handle("/auto/challenge/4", script_challenge(articles[4]))
    site.handle("/auto/stuck", script_challenge(None))
    auto_paths = ["/auto/plain/0", "/auto/plain/1", "/auto/news/2", "/auto/news/3", "/auto/challenge/4", "/auto/stuck"]
    auto_feed = site.add("/auto/feed.xml", rss(site, auto_paths), content_type="application/rss+xml")
    site.handle("/plain/walled", cookie_wall(articles[6], "consent=accepted"))
    build_spa_site(site, [articles[7]], prefix="/plain", feed=False)
    plain_feed = site.add("/plain/feed.xml", rss(site, ["/plain/walled", "/plain/news/7"]), content_type="text/xml")
    yaml = f"""\
sources:
  - name: plain
    feeds: [{plain_feed}]
    cookies: {{consent: accepted}}
    headers: {{X-Monitor: "yes"}}
    user_agent: Monitor/1.0
  - name: spa
    feeds: [{spa_feed}]
    render: true
  - name: walled
    feeds: [{walled_feed}]
    fetch: {{render: true, cookies: {{consent: accepted}}}}
  - name: auto
    feeds: [{auto_feed}]
    render: auto
"""
    settings = ["-s", "RENDER_CONTEXT_PAGES=2", "-s", "RENDER_TIMEOUT=4", "-s", f"WARC_DIR={tmp_path / 'warc'}"]
    run = run_crawl(tmp_path, yaml, *settings, timeout=180)
    return run, {"plain_title": articles[6].title}


def _redirect_to(location: str):
    def handler(request) -> None:
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handler


def test_a_proxy_with_credentials_carries_every_request(tmp_path: Path, chromium: str) -> None:
    proxy = RecordingProxy("monitor", "Pr0xy-s3cret").start()
    try:
        with Site() as site:
            articles = spa_articles(4)
            site.add("/p/0", article_html(articles[0]))
            site.add("/p/1", article_html(articles[1]))
            port = site.url("").rsplit(":", 1)[1]
            # A link to a name that resolves to a loopback address the file does not name: the
            # guard refuses it although the proxy, not this machine, would connect.
            inside = f"http://localhost:{port}/p/1"
            items = "".join(f"<item><link>{url}</link></item>" for url in (site.url("/p/0"), site.url("/p/1"), inside))
            feed = site.add(
                "/p/feed.xml", f"<rss version='2.0'><channel>{items}</channel></rss>", content_type="text/xml"
            )
            spa_feed = build_spa_site(site, articles[2:3], prefix="/s")
            yaml = f"""\
defaults:
  revisit: [1h]
  fetch:
    proxy: {{url: "{proxy.url}", credentials_env: TEST_PROXY_CREDENTIALS}}
sources:
  - name: proxied
    feeds: [{feed}]
    allowed_domains: [127.0.0.1, localhost]
  - name: rendered
    feeds: [{spa_feed}]
    render: true
"""
            env = {"TEST_PROXY_CREDENTIALS": "monitor:Pr0xy-s3cret"}
            (tmp_path / "with").mkdir()
            (tmp_path / "without").mkdir()
            run = run_crawl(tmp_path / "with", yaml, "-s", "LOG_LEVEL=DEBUG", env=env, timeout=180)
            # Two hours on, the delivered articles are revisited: through the proxy too. (Only
            # the plain source: Chromium under libfaketime takes seconds a page.)
            later = {**env, **fixed_clock_env(datetime.now(UTC) + timedelta(hours=2), require_libfaketime())}
            plain_only = yaml.split("  - name: rendered")[0]
            revisit = run_crawl(tmp_path / "with", plain_only, output="later.jsonl", env=later, timeout=180)
            direct = [hit for hit in site.hits if hit.headers.get("Via") != "1.1 recording-proxy"]
            through = list(proxy.hits)
            proxy.hits.clear()
            site.reset_hits()
            os.environ.pop("TEST_PROXY_CREDENTIALS", None)
            without = run_crawl(tmp_path / "without", yaml, timeout=120)
            site_hits_without = list(site.hits)
            expected = {site.url(path) for path in ("/robots.txt", "/p/feed.xml", "/p/0", "/s/news/2")}
            expected_article = site.url("/p/0")
            by_browser = {site.url("/api/s/news/2.json"), site.url("/s/static/app.js")}
    finally:
        proxy.close()
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(r["url"].rsplit("/", 2)[-2] + r["url"][-1] for r in run.records) == ["news2", "p0", "p1"]
    assert direct == [], "every request reached the site through the proxy"
    targets = {hit.target for hit in through}
    assert all(hit.authorized for hit in through)
    assert expected <= targets
    assert by_browser <= targets, "the browser's requests too"
    assert not any("localhost" in target for target in targets)
    assert revisit.returncode == 0, revisit.stderr[-3000:]
    assert revisit.stats["sources/proxied/revisits"] == 2
    assert [hit.target for hit in through].count(expected_article) == 2, "asked, then revisited, by proxy"
    assert run.stats["network/refused/private_address"] >= 1
    # The credentials are nowhere but in the environment.
    for path in [*(tmp_path / "with").rglob("*")]:
        if path.is_file():
            assert b"Pr0xy-s3cret" not in path.read_bytes(), path
            assert b"bW9uaXRvcjpQcjB4eS1zM2NyZXQ" not in path.read_bytes(), path
    assert "Pr0xy-s3cret" not in run.stderr + run.stdout and "bW9uaXRvcjpQcjB4eS1zM2NyZXQ" not in run.stderr
    # Without them nothing is sent, neither to the proxy nor around it.
    assert without.records == [] and proxy.hits == [] and site_hits_without == []
    assert "TEST_PROXY_CREDENTIALS" in without.stderr
    errors = summary_of(tmp_path / "without")["sources"]["proxied"]["errors"]
    assert errors.get("proxy_credentials", 0) >= 1, errors


def test_a_long_render_run_stays_within_its_memory(tmp_path: Path, chromium: str) -> None:
    """20 pages, each leaving 16 MiB in the site's IndexedDB (held in memory by the browser's
    context): unbounded, Chromium grows past 700 MiB; with RENDER_MEMORY_MB=400 it is
    restarted between pages and stays near the limit."""
    limit = 400
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], pss_kib(os.getpid(), named="chrom"))
            time.sleep(0.1)

    with Site() as site:
        feed = build_spa_site(site, spa_articles(20), extra_body=hoard(16))
        yaml = f"sources:\n  - name: heavy\n    feeds: [{feed}]\n    render: true\n    max_articles: 100\n"
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            run = run_crawl(
                tmp_path, yaml, "-s", f"RENDER_MEMORY_MB={limit}", "-s", "RENDER_CONTEXT_PAGES=1000", timeout=240
            )
        finally:
            done.set()
            sampler.join()
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records) == 20
    print(f"peak Chromium PSS {peak[0] / 1024:.0f} MiB, {run.stats['render/browser_restarts']} restarts")
    assert run.stats["render/browser_restarts"] >= 1
    # Checked after every page; once over, the page in flight finishes before the restart: the
    # browser passes the limit by what about three pages add, each its 16 MiB twice (the
    # script's array and the store's copy). CI saw 556 MiB over a limit of 450 (+106).
    assert peak[0] / 1024 <= limit + 150, f"peak {peak[0] / 1024:.0f} MiB"
    assert run.stats.get("sources/heavy/render/failed", 0) == 0, "a restart loses no page"


def test_check_says_when_a_source_needs_render_or_a_proxy(tmp_path: Path, chromium: str) -> None:
    articles = spa_articles(4)
    with Site() as site:
        shell_feed = build_spa_site(site, articles[:2], prefix="/shell")
        auto_feed = build_spa_site(site, articles[2:4], prefix="/auto")
        site.add("/refusing/feed.xml", "<html><title>403 Forbidden</title></html>", status=403)
        refusing_feed = site.url("/refusing/feed.xml")
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"""\
sources:
  - name: shell
    feeds: [{shell_feed}]
  - name: rendered
    feeds: [{auto_feed}]
    render: auto
  - name: refusing
    feeds: [{refusing_feed}]
""",
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "sources", "check", "shell", "rendered", "refusing",
             "-s", f"SOURCES_FILE={sources}", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
            cwd=ROOT, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    out = result.stdout
    sections = {part.split(" ", 1)[0]: part for part in out.split("\n== ")[1:]}
    assert "hint: 2 page(s) look built by JavaScript" in sections["shell"] and "render: auto" in sections["shell"]
    assert "browser: 2 page(s) rendered" in sections["rendered"], out
    assert "(2 after the plain page needed it)" in sections["rendered"]
    assert "hint:" not in sections["rendered"]
    assert "try proxy:" in sections["refusing"], out
