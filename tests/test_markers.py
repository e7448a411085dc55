"""When a feed or sitemap says that an article changed (crawler/parsing/markers.py), and the feed-side
metadata it is read from (crawler/parsing/feeds.py)."""

from __future__ import annotations

import pytest

from crawler.parsing.feeds import parse_discovery_document
from crawler.parsing.markers import has_changed, is_uniform

NEWS = "https://news.example.org/sitemap-news.xml"
ARCHIVE = "https://news.example.org/sitemap-archive.xml"
RSS = "https://news.example.org/rss.xml"


@pytest.mark.parametrize(
    ("marker", "document", "seen", "changed"),
    [
        # The same instant written with another offset is no change.
        ("u:2026-11-02T10:00:00+02:00", NEWS, {NEWS: "u:2026-11-02T08:00:00+00:00"}, False),
        ("u:2026-11-02T10:00:01+02:00", NEWS, {NEWS: "u:2026-11-02T08:00:00+00:00"}, True),
        # Moved from the news sitemap into the archive: compared with what the news sitemap said.
        ("u:2026-11-04T09:00:00+02:00", ARCHIVE, {NEWS: "u:2026-11-02T10:00:00+02:00"}, True),
        ("u:2026-11-02T10:00:00+02:00", ARCHIVE, {NEWS: "u:2026-11-02T10:00:00+02:00"}, False),
        # An older time than one already seen elsewhere is a stale document, not an edit.
        ("u:2026-11-01T00:00:00+00:00", ARCHIVE, {NEWS: "u:2026-11-02T00:00:00+00:00"}, False),
        # A publication time is never compared with a modification time.
        ("p:2026-11-05T00:00:00+00:00", RSS, {NEWS: "u:2026-11-02T00:00:00+00:00"}, False),
        ("p:2026-11-05T00:00:00+00:00", RSS, {RSS: "p:2026-11-02T00:00:00+00:00"}, True),
        # Dates that do not parse are compared as written, within their own document only.
        ("r:Tuesday, week 45", RSS, {RSS: "r:Monday, week 45"}, True),
        ("r:Tuesday, week 45", RSS, {NEWS: "r:Monday, week 45"}, False),
        # Markers stored before kinds existed keep their meaning for their own document.
        ("u:2026-11-02T08:00:00+00:00", NEWS, {NEWS: "2026-11-02T08:00:00+00:00"}, False),
        ("u:2026-11-03T08:00:00+00:00", NEWS, {NEWS: "2026-11-02T08:00:00+00:00"}, True),
        ("u:2026-11-03T08:00:00+00:00", ARCHIVE, {NEWS: "2026-11-02T08:00:00+00:00"}, False),
        # A test clock years ahead is still a time (parse_date refuses it; the marker keeps it).
        ("r:2031-01-02T00:00:00+00:00", NEWS, {NEWS: "r:2031-01-01T00:00:00+00:00"}, True),
        ("u:2026-11-02T08:00:00+00:00", NEWS, {}, False),
    ],
)
def test_has_changed(marker: str, document: str, seen: dict[str, str], changed: bool) -> None:
    assert has_changed(marker, document, seen) is changed


def test_a_document_that_stamps_one_date_on_everything_says_nothing() -> None:
    assert is_uniform(["u:2026-11-02T08:00:00Z"] * 5)
    assert not is_uniform(["u:2026-11-02T08:00:00Z"] * 4), "a handful published at once can share a time"
    assert not is_uniform(["u:2026-11-02T08:00:00Z"] * 4 + ["u:2026-11-02T08:01:00Z"])
    assert not is_uniform(["u:2026-11-02T08:00:00Z", None] * 3)


def test_google_news_sitemap_gives_title_publication_time_and_a_lastmod_marker() -> None:
    body = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://news.example.org/a.html</loc><lastmod>2026-11-02T12:30:00+02:00</lastmod>"
        "<news:news><news:publication><news:name>N</news:name><news:language>uk</news:language></news:publication>"
        "<news:publication_date>2026-11-02T10:00:00+02:00</news:publication_date>"
        "<news:title>Рада ухвалила бюджет</news:title></news:news></url>"
        "<url><loc>https://news.example.org/b.html</loc>"
        "<news:news><news:publication_date>2026-11-02T09:00:00+02:00</news:publication_date></news:news></url>"
        "</urlset>"
    ).encode()
    first, second = parse_discovery_document(body, NEWS).entries
    assert first.title == "Рада ухвалила бюджет"
    assert first.published == "2026-11-02T10:00:00+02:00", "the offset is kept"
    assert first.changed_marker == "u:2026-11-02T12:30:00+02:00", "lastmod moves on edits; it is the marker"
    assert second.changed_marker == "p:2026-11-02T09:00:00+02:00", "without lastmod, the publication time"


def test_paged_feeds_name_their_next_page() -> None:
    atom = (
        b"<feed xmlns='http://www.w3.org/2005/Atom'><link rel='next' href='/atom?page=2'/>"
        b"<entry><link href='https://news.example.org/a.html'/><link rel='next' href='/not-this'/></entry></feed>"
    )
    assert (
        parse_discovery_document(atom, "https://news.example.org/atom").next_page
        == "https://news.example.org/atom?page=2"
    )
    feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "next_url": "https://news.example.org/f2.json"}'
    )
    assert (
        parse_discovery_document(feed, "https://news.example.org/f.json").next_page
        == "https://news.example.org/f2.json"
    )
