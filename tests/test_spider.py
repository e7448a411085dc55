"""Spider behaviour in real crawls: limits, politeness, refusals counted by reason."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.conftest import run_crawl
from tests.site.server import Site

BODY = " ".join(["Уряд оголосив про нові заходи підтримки економіки після засідання кабінету міністрів."] * 6)


def article(n: int) -> str:
    return (
        f"<html><head><title>Новина {n}</title><meta property='article:published_time' content='2025-01-0{n % 9 + 1}T10:00:00+02:00'>"
        f"</head><body><article><h1>Новина номер {n}</h1><p>{BODY}</p><p>Подробиці {n}.</p></article></body></html>"
    )


def rss(site: Site, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>{p}</title><link>{p if p.startswith('http') else site.url(p)}</link></item>" for p in paths
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>"


def test_max_articles_and_allowed_domains(tmp_path: Path, site: Site) -> None:
    paths = [f"/a/{n}.html" for n in range(6)]
    for n, path in enumerate(paths):
        site.add(path, article(n))
    offsite = site.url("/a/0.html").replace("127.0.0.1", "localhost") + "?offsite"
    site.add("/rss", rss(site, [offsite, *paths]), content_type="application/rss+xml")
    run = run_crawl(tmp_path, f"sources:\n  - name: s\n    max_articles: 3\n    feeds: [{site.url('/rss')}]\n")
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["url"] for r in run.records) == [site.url(p) for p in paths[:3]], "the first three feed entries"
    assert not [hit for hit in site.hits if "offsite" in hit.path]
    assert run.stats["sources/s/links/offsite"] == 1
    assert run.stats["sources/s/links/over_max_articles"] == 3
    assert run.stats["sources/s/emitted"] == 3


def test_download_delay_is_a_minimum_between_requests(tmp_path: Path, site: Site) -> None:
    paths = [f"/a/{n}.html" for n in range(5)]
    for n, path in enumerate(paths):
        site.add(path, article(n))
    site.add("/rss", rss(site, paths), content_type="application/rss+xml")
    run = run_crawl(tmp_path, f"sources:\n  - name: s\n    download_delay: 0.4\n    feeds: [{site.url('/rss')}]\n")
    assert run.returncode == 0 and len(run.records) == 5
    times = sorted(hit.time for hit in site.requests_for("/a/"))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Times are taken where the server's thread meets the request: on a loaded machine one
    # request's may lag, shortening the gap after it by tens of milliseconds; without the
    # delay the gaps are a few milliseconds.
    assert min(gaps) >= 0.3, gaps


def test_pages_without_article_are_counted_by_reason(tmp_path: Path, site: Site) -> None:
    site.add("/ok.html", article(1))
    site.add(
        "/blocked.html",
        "<html><head><title>Attention Required! | Cloudflare</title></head><body><div id='cf-error-details'>blocked</div></body></html>",
    )
    site.add(
        "/shell.html",
        "<html><head><title>App</title></head><body><div id='app'></div><script src='/app.js'></script></body></html>",
    )
    site.add("/doc.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", content_type="application/pdf")
    site.add("/image", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="text/html")
    site.add("/gone.html", "<html><body>gone</body></html>", status=404)
    site.add("/broken.html", "<html><body>oops</body></html>", status=500)
    paths = ["/ok.html", "/blocked.html", "/shell.html", "/doc.pdf", "/image", "/gone.html", "/broken.html"]
    site.add("/rss", rss(site, paths), content_type="application/rss+xml")
    run = run_crawl(tmp_path, f"sources:\n  - name: s\n    feeds: [{site.url('/rss')}]\n", "-s", "RETRY_TIMES=0")
    assert run.returncode == 0
    assert [r["url"] for r in run.records] == [site.url("/ok.html")]
    stats = run.stats
    assert stats["sources/s/not_emitted/blocked"] == 1
    assert stats["sources/s/not_emitted/no_article"] == 1
    assert stats["sources/s/not_emitted/not_html"] == 2
    assert stats["sources/s/not_emitted/http_404"] == 1
    assert stats["sources/s/not_emitted/http_500"] == 1
    assert stats["sources/s/http_errors"] == 2
    for path in paths[1:]:
        assert run.stderr.count(site.url(path)) == 1, f"{path} is logged once"


def test_broken_discovery_documents_are_reported_not_fatal(tmp_path: Path, site: Site) -> None:
    site.add("/ok.html", article(2))
    site.add("/rss", rss(site, ["/ok.html"]), content_type="application/rss+xml")
    site.add("/html-not-feed", "<!doctype html><html><body>home page</body></html>")
    sources = (
        f"sources:\n  - name: good\n    feeds: [{site.url('/rss')}]\n"
        f"  - name: bad\n    feeds: [{site.url('/html-not-feed')}, {site.url('/missing.xml')}]\n"
    )
    run = run_crawl(tmp_path, sources)
    assert [r["source"] for r in run.records] == ["good"]
    assert run.stats["sources/bad/discovery/failed/not_a_feed"] == 1
    assert run.stats["sources/bad/discovery/failed/http_404"] == 1
    assert "Traceback" not in run.stderr


def test_meta_refresh_is_still_followed(tmp_path: Path, site: Site) -> None:
    site.add(
        "/moved.html", "<html><head><meta http-equiv='Refresh' content='0; url=/a/new.html'></head><body></body></html>"
    )
    site.add("/a/new.html", article(1))
    # "refresh" in the text, no tag: an ordinary article.
    site.add("/a/2.html", article(2).replace("</article>", "<p>Press refresh to reload the live blog.</p></article>"))
    site.add("/rss", rss(site, ["/moved.html", "/a/2.html"]), content_type="application/rss+xml")
    run = run_crawl(tmp_path, f"sources:\n  - name: s\n    feeds: [{site.url('/rss')}]\n")
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["url"] for r in run.records) == [site.url("/a/2.html"), site.url("/a/new.html")]
