"""End to end: a real `scrapy crawl sources` against the loopback news site built from corpus pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import CrawlRun
from tests.site.corpus import NewsSite, token_f1

ROOT = Path(__file__).resolve().parents[1]
SPEC_FIELDS = [
    "id", "source", "url", "canonical_url", "discovered_via", "title", "text", "summary", "author", "published",
    "fetched_at", "language", "language_confidence", "tags", "title_en", "summary_en", "text_en", "translation",
    "content_hash", "revision",
]  # fmt: skip
TOKEN = re.compile(r"\w+")


def by_path(run: CrawlRun) -> dict[str, dict]:
    return {urlsplit(record["url"]).path: record for record in run.records}


def test_crawl_succeeds(news_crawl: CrawlRun) -> None:
    assert news_crawl.returncode == 0, news_crawl.stderr[-3000:]
    assert "Traceback" not in news_crawl.stderr


def test_every_article_exactly_once(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    paths = [urlsplit(record["url"]).path for record in news_crawl.records]
    assert sorted(paths) == sorted(news_site.pages), "each served article once, nothing else"
    ids = [record["id"] for record in news_crawl.records]
    assert len(set(ids)) == len(ids)
    hits = news_crawl.hits  # type: ignore[attr-defined]
    for path in news_site.pages:
        assert hits[path] == 1, f"{path} fetched {hits[path]} times"


def test_robots_txt_is_obeyed(news_crawl: CrawlRun) -> None:
    hits = news_crawl.hits  # type: ignore[attr-defined]
    assert hits["/robots.txt"] == 1
    assert hits["/private/secret.html"] == 0


def test_records_have_every_spec_field_and_match_the_schema(news_crawl: CrawlRun) -> None:
    schema = json.loads((ROOT / "crawler" / "schema" / "article.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert news_crawl.records
    for record in news_crawl.records:
        assert list(record)[: len(SPEC_FIELDS)] == SPEC_FIELDS
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, f"{record['url']}: {errors[0].message}"
        datetime.fromisoformat(record["fetched_at"].replace("Z", "+00:00"))


def test_output_is_utf8_without_escapes(news_crawl: CrawlRun) -> None:
    assert news_crawl.output is not None
    raw = news_crawl.output.read_bytes()
    raw.decode("utf-8")
    assert b"\\u04" not in raw, "Cyrillic must be written as UTF-8, not \\u escapes"
    assert "Україні".encode() in raw


def test_text_matches_ground_truth(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    scores = {}
    for path, page in news_site.pages.items():
        if page.body:
            scores[page.key] = token_f1(records[path]["text"], page.body)
    assert len(scores) >= 10
    low = {key: round(score, 3) for key, score in scores.items() if score < 0.8}
    assert not low, f"text far from ground truth: {low}"
    assert sum(scores.values()) / len(scores) >= 0.9


def test_titles_match_ground_truth(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    checked = 0
    for path, page in news_site.pages.items():
        if page.title:
            checked += 1
            assert TOKEN.findall(records[path]["title"].lower()) == TOKEN.findall(page.title.lower()), page.key
    assert checked >= 4


def test_publication_dates(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    checked = 0
    for path, page in news_site.pages.items():
        if not page.published:
            continue
        checked += 1
        published = records[path]["published"]
        assert published, page.key
        local_day = published[:10]
        # Ground truth is sometimes the UTC day of a local timestamp.
        moment = datetime.fromisoformat(published.replace("Z", "+00:00"))
        utc_day = moment.astimezone(UTC).date().isoformat() if moment.tzinfo else local_day
        assert page.published in (local_day, utc_day), f"{page.key}: {published} vs {page.published}"
    assert checked >= 8
    with_offset = [
        r for r in news_crawl.records if r["published"] and re.search(r"T.*([+-]\d\d:\d\d|Z)$", r["published"])
    ]
    assert len(with_offset) >= len(news_crawl.records) // 2, "most pages give a time with an offset"


def test_languages(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    wrong = {
        page.key: records[path]["language"]
        for path, page in news_site.pages.items()
        if records[path]["language"] != page.language
    }
    assert not wrong
    for record in news_crawl.records:
        assert 0.5 <= record["language_confidence"] <= 1


def test_feed_metadata_reaches_the_record(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    rss = news_site.feeds[news_site.site.url("/feeds/rss.xml")]
    for path in rss:
        assert f"{news_site.pages[path].language}-news" in records[path]["tags"], "RSS <category> becomes a tag"
    atom = news_site.feeds[news_site.site.url("/feeds/atom.xml")]
    for path in atom:
        assert f"atom-{news_site.pages[path].language}" in records[path]["tags"]


def test_discovered_via(news_crawl: CrawlRun, news_site: NewsSite) -> None:
    records = by_path(news_crawl)
    site = news_site.site
    listed_by: dict[str, set[tuple[str, str]]] = {}
    for discovery_url, paths in news_site.feeds.items():
        kind = "listing" if discovery_url.endswith("/news/") else "sitemap" if "sitemap" in discovery_url else "feed"
        for path in paths:
            listed_by.setdefault(path, set()).add((kind, discovery_url))
    # The overlaps the site builds in: the first RSS item is also in the news sitemap,
    # the first Atom item is also linked from the listing.
    rss, atom = news_site.feeds[site.url("/feeds/rss.xml")], news_site.feeds[site.url("/feeds/atom.xml")]
    listed_by[rss[0]].add(("sitemap", site.url("/sitemaps/news.xml")))
    listed_by[atom[0]].add(("listing", site.url("/news/")))
    for path, record in records.items():
        via = record["discovered_via"]
        allowed = {(kind, url) for kind, url in listed_by[path]}
        # Sitemap entries are credited to the child sitemap that listed them.
        allowed |= {
            ("sitemap", site.url(p))
            for kind, _ in listed_by[path]
            if kind == "sitemap"
            for p in ("/sitemaps/news.xml", "/sitemaps/pages.xml.gz")
        }
        assert (via["kind"], via["url"]) in allowed, (path, via)


def test_translation_status_without_translation_stage(news_crawl: CrawlRun) -> None:
    for record in news_crawl.records:
        translation = record["translation"]
        if record["language"] == "en":
            assert translation["status"] == "not_needed"
            assert record["title_en"] == record["title"] and record["text_en"] == record["text"]
        else:
            assert translation["status"] in ("skipped", "translated", "failed")
            if translation["status"] != "translated":
                assert record["title_en"] is None and record["text_en"] is None


@pytest.mark.parametrize("field", ["title", "text"])
def test_no_control_characters(news_crawl: CrawlRun, field: str) -> None:
    for record in news_crawl.records:
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", record[field])
