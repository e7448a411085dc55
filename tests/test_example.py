"""The product's own example, end to end: a Russian obozrevatel article on a section subdomain,
linked from the obozrevatel-ru feed with Google Analytics parameters, crawled with the real
config/sources.yaml entry (its allowed_domains, extract rules and language) and translated
through a loopback stand-in of Google's endpoint.

The site's hosts (www. for the feed, war. for the article) are served by the loopback
server acting as an HTTP proxy: no request leaves the machine and no name is resolved.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT, run_crawl
from tests.site.obozrevatel import PROMO_LINES, obozrevatel_page
from tests.site.server import Site
from tests.site.timeline import corpus_texts
from tests.site.translators import FakeTranslator

SLUG = "rossiya-i-ssha-obsudili-peregovory-v-zheneve.htm"
PUBLISHED = "2026-11-30T14:05:00+02:00"


def test_a_russian_obozrevatel_article_on_a_subdomain_with_tracking_parameters(
    tmp_path: Path, corpus_available: None
) -> None:
    paragraphs = next(text for language, text in corpus_texts() if language == "ru")
    title = paragraphs[0].split(". ")[0][:120].strip()
    clean = f"http://war.obozrevatel.com/{SLUG}"
    tracked = f"{clean}?_ga=2.173504012.1042718271.1732960000-1786427705.1732960000&_gl=1*1x2y3z*_ga*MTc4NjQyNzcwNS4x"
    config = (ROOT / "config" / "sources.yaml").read_text(encoding="utf-8")
    config = config.replace("https://www.obozrevatel.com/rss.xml", "http://www.obozrevatel.com/rss.xml")
    with Site() as site, FakeTranslator() as google:
        for host in ("www.obozrevatel.com", "war.obozrevatel.com"):
            site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain", host=host)
        page = obozrevatel_page(title, paragraphs[1:], clean, PUBLISHED, clean.replace(".com/", ".com/ukr/"))
        site.add(f"/{SLUG}", page, host="war.obozrevatel.com")
        feed = (
            "<rss version='2.0'><channel><title>OBOZREVATEL</title>"
            f"<item><title>{title}</title><link>{tracked.replace('&', '&amp;')}</link>"
            "<pubDate>Sun, 30 Nov 2026 12:05:00 GMT</pubDate></item></channel></rss>"
        )
        site.add("/rss.xml", feed, content_type="application/rss+xml", host="www.obozrevatel.com")
        digest = tmp_path / "today.txt"
        run = run_crawl(
            tmp_path,
            config,
            "-a", "sources=obozrevatel-ru",
            "-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={google.url('/m')}",
            "-O", f"{digest}:digest",
            env={"http_proxy": site.proxy, "no_proxy": "127.0.0.1,localhost"},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        fetched = [(hit.host, hit.path) for hit in site.hits if hit.path.endswith(".htm")]
        assert fetched == [("war.obozrevatel.com", f"/{SLUG}")], "fetched once, under its clean URL"
    (record,) = run.records
    assert record["source"] == "obozrevatel-ru" and record["canonical_url"] == clean and record["url"] == clean
    assert record["title"] == title and record["published"] == PUBLISHED
    assert record["language"] == "ru" and record["language_confidence"] >= 0.9
    assert not any(line in record["text"] for line in PROMO_LINES), "the site's promotion lines are not article text"
    assert record["translation"]["status"] == "translated" and record["translation"]["from"] == "ru"
    text = digest.read_text(encoding="utf-8")
    assert "30.11.2026 – Translated from Russian via Google" in text and f"Source: obozrevatel-ru – {clean}" in text
