"""Feed and sitemap parsing against real feeds from the shared corpus."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pytest

from crawler.parsing.feeds import DiscoveryError, gunzip_limited, parse_discovery_document
from tests.site.corpus import SKIP_REASON, corpus_root, have_corpus

pytestmark = pytest.mark.skipif(not have_corpus(), reason=SKIP_REASON)

FEEDS = corpus_root() / "feeds"


def read(relative: str) -> bytes:
    return (FEEDS / relative).read_bytes()


def expected_items(name: str) -> list[dict]:
    base = FEEDS / "rss-parser" / "output"
    path = base / f"{name}.json"
    data = path.read_bytes() if path.exists() else gzip.decompress((base / f"{name}.json.gz").read_bytes())
    # rss-parser stored some expectations in the feed's own legacy encoding.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return json.loads(text)["feed"]["items"]


@pytest.mark.parametrize(
    "name",
    [
        "heise.atom",
        "reddit.rss",
        "craigslist.rss",
        "uolNoticias.rss",
        "encoding.rss",
        "guardian.rss.gz",
        "rss-1.rss",
        "heraldsun.rss",
    ],
)
def test_feeds_match_rss_parser_expected_output(name: str) -> None:
    body = read(f"rss-parser/input/{name}")
    if name.endswith(".gz"):
        body = gzip.decompress(body)
    stem = name.removesuffix(".gz").rsplit(".", 1)[0]
    expected = [item for item in expected_items(stem) if item.get("link")]
    document = parse_discovery_document(body, "https://feeds.example.org/feed")
    assert len(document.entries) == len(expected)
    for entry, item in zip(document.entries, expected, strict=True):
        if "/~r/" in item["link"]:  # FeedBurner proxy: we keep the publisher's origLink instead
            assert entry.url.rsplit("/", 1)[-1] == item["link"].rsplit("/", 1)[-1]
        else:
            assert entry.url == item["link"]
        if item.get("title") and "<" not in item["title"] and "&" not in item["title"]:
            assert entry.title == " ".join(item["title"].split())
        if item.get("isoDate"):
            assert entry.published or entry.updated
            got = datetime.fromisoformat(entry.published or entry.updated)
            want = datetime.fromisoformat(item["isoDate"].replace("Z", "+00:00"))
            if got.tzinfo is not None:
                assert got == want


def test_feedburner_original_link_is_preferred() -> None:
    body = gzip.decompress(read("rss-parser/input/feedburner.atom.gz"))
    document = parse_discovery_document(body, "http://feeds.feedburner.com/blogspot/lQlzL")
    expected = [item["link"] for item in expected_items("feedburner")]
    assert len(document.entries) == len(expected)
    for entry, proxied in zip(document.entries, expected, strict=True):
        assert "feedproxy.google.com" in proxied and "feedproxy" not in entry.url
        assert entry.url.rsplit("/", 1)[-1] == proxied.rsplit("/", 1)[-1]


def test_ukrainian_rss_with_categories() -> None:
    document = parse_discovery_document(
        read("uk-ru/tehtehteh-data-import/stub_unian_rss.xml"), "https://rss.unian.net/site/news_ukr.rss"
    )
    assert document.kind == "rss" and len(document.entries) == 50
    first = document.entries[0]
    assert first.url.startswith("https://www.unian.ua/")
    assert first.title and any(ch in first.title for ch in "іїєґ")
    assert first.published and datetime.fromisoformat(first.published).tzinfo is not None


def test_windows_1251_feed_is_decoded() -> None:
    document = parse_discovery_document(
        read("uk-ru/tehtehteh-data-import/stub_pravda_rss.xml"), "https://www.pravda.com.ua/rss/"
    )
    assert len(document.entries) == 20
    assert all(entry.title and any("а" <= ch <= "я" for ch in entry.title.lower()) for entry in document.entries)
    assert document.entries[0].url == "https://life.pravda.com.ua/columns/2020/09/29/242489/"


def test_full_text_feed_gives_summary_and_author() -> None:
    document = parse_discovery_document(read("feeder/test/rss_ukrnet.xml"), "https://suspilne.media/rss/ukrnet.rss")
    assert len(document.entries) == 20
    assert all(entry.url.startswith("https://suspilne.media/") for entry in document.entries)


def test_rdf_and_atom_and_json_feed() -> None:
    rdf = parse_discovery_document(read("feeder/androidTest/rdf_slashdot.xml"), "https://slashdot.org/")
    assert rdf.kind == "rdf" and len(rdf.entries) == 15
    atom = parse_discovery_document(read("node-feedparser/tpm.atom"), "https://talkingpointsmemo.com/")
    assert atom.kind == "atom" and len(atom.entries) == 20
    assert all(entry.url.startswith("http") for entry in atom.entries)
    json_feed = parse_discovery_document(read("feedjira/json_feed.json"), "https://example.org/feed.json")
    assert json_feed.kind == "jsonfeed" and len(json_feed.entries) == 20
    assert json_feed.entries[0].title


def test_atom_relative_links_resolve_against_xml_base() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.org/section/">
    <entry><title>One</title><link href="one.html"/><updated>2025-01-02T03:04:05+02:00</updated>
      <category term="politics"/><author><name>Ann</name></author></entry>
    <entry><title>Self only</title><link rel="self" href="https://news.example.org/api/2"/></entry>
    </feed>"""
    document = parse_discovery_document(body, "https://feeds.example.org/atom")
    assert [e.url for e in document.entries] == ["https://news.example.org/section/one.html"]
    entry = document.entries[0]
    assert entry.updated == "2025-01-02T03:04:05+02:00" and entry.tags == ("politics",) and entry.author == "Ann"
    assert document.skipped_links == 1


def test_bad_links_are_skipped_not_fatal() -> None:
    body = b"""<rss version="2.0"><channel>
      <item><title>ok</title><link>/relative/ok.html</link></item>
      <item><title>js</title><link>javascript:alert(1)</link></item>
      <item><title>mail</title><link>mailto:a@b.c</link></item>
      <item><title>file</title><link>file:///etc/passwd</link></item>
      <item><title>none</title></item>
    </channel></rss>"""
    document = parse_discovery_document(body, "https://site.example.org/feed.xml")
    assert [e.url for e in document.entries] == ["https://site.example.org/relative/ok.html"]
    assert document.skipped_links == 4


def test_sitemaps_plain_gzipped_index_and_news() -> None:
    plain = parse_discovery_document(read("trafilatura-resources/sitemap.xml"), "https://www.sitemaps.org/sitemap.xml")
    assert plain.kind == "sitemap" and len(plain.entries) == 84
    gzipped = parse_discovery_document(
        read("trafilatura-resources/sitemap.xml.gz"), "https://www.sitemaps.org/sitemap.xml.gz"
    )
    assert [e.url for e in gzipped.entries] == [e.url for e in plain.entries]
    index = parse_discovery_document(read("trafilatura-resources/sitemap2.xml"), "https://www.example.com/sitemap.xml")
    assert index.kind == "sitemapindex" and len(index.sitemaps) == 2 and not index.entries
    news = parse_discovery_document(
        """<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
        <url><loc>https://n.example.org/a</loc><lastmod>2025-03-01</lastmod><news:news>
        <news:publication><news:name>N</news:name><news:language>uk</news:language></news:publication>
        <news:publication_date>2025-03-01T08:00:00+02:00</news:publication_date><news:title>Заголовок</news:title>
        <news:keywords>війна, економіка</news:keywords></news:news></url></urlset>""".encode(),
        "https://n.example.org/news-sitemap.xml",
    )
    entry = news.entries[0]
    assert (entry.title, entry.published, entry.updated, entry.tags) == (
        "Заголовок",
        "2025-03-01T08:00:00+02:00",
        "2025-03-01",
        ("війна", "економіка"),
    )


def test_plain_text_sitemap() -> None:
    document = parse_discovery_document(
        b"https://a.example.org/1\nhttps://a.example.org/2\n\nnot a url\n", "https://a.example.org/s.txt"
    )
    assert [e.url for e in document.entries] == ["https://a.example.org/1", "https://a.example.org/2"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "not_a_feed"),
        (b"\x00\x01\x02binary\xff\xfe", "not_a_feed"),
        (b'{"version": "x"}', "not_a_feed"),
        (b"<root><child/></root>", "not_a_feed"),
    ],
)
def test_unusable_documents_raise_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        parse_discovery_document(body, "https://x.example.org/feed")
    assert caught.value.reason == reason


def test_truncated_feed_keeps_what_is_recoverable() -> None:
    body = read("uk-ru/tehtehteh-data-import/stub_unian_rss.xml")
    document = parse_discovery_document(body[: len(body) // 2], "https://rss.unian.net/site/news_ukr.rss")
    assert 10 <= len(document.entries) < 50


def test_gunzip_limit() -> None:
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    with pytest.raises(DiscoveryError, match="inflates past"):
        gunzip_limited(bomb, max_size=1024 * 1024)
    assert gunzip_limited(gzip.compress(b"abc")) == b"abc"


def test_every_corpus_feed_parses_without_exceptions() -> None:
    index = [json.loads(line) for line in (FEEDS / "INDEX.jsonl").read_text(encoding="utf-8").splitlines()]
    parsed = 0
    for row in index:
        if row["kind"] not in ("rss", "atom", "rss1-rdf", "jsonfeed", "sitemap") or row["file"] == "INDEX.jsonl":
            continue
        body = (FEEDS / row["file"]).read_bytes()
        if row["file"].endswith(".gz") and row["file"] != "trafilatura-resources/sitemap.xml.gz":
            body = gzip.decompress(body)
        try:
            parse_discovery_document(body, "https://example.org/feed")
        except DiscoveryError:
            continue
        parsed += 1
    assert parsed >= 100
