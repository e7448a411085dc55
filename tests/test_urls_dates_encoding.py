"""Small pure helpers: URL hygiene, date parsing, HTML decoding, regex safety."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from crawler.config.regex_safety import RegexProblem, check_follow_pattern
from crawler.parsing.dates import format_iso, parse_date
from crawler.parsing.encoding import decode_html
from crawler.parsing.urls import article_id, clean_url, is_public_http_url_syntax, url_key


def test_clean_url_drops_tracking_and_fragment_only() -> None:
    assert (
        clean_url("https://Example.org/a/b.html?utm_source=x&id=5&fbclid=abc#top")
        == "https://example.org/a/b.html?id=5"
    )
    assert clean_url("https://example.org/a?gclid=1&amp=1") == "https://example.org/a"
    assert clean_url("https://example.org/a?page=2") == "https://example.org/a?page=2"


def test_url_key_ignores_scheme_www_order_and_trailing_slash() -> None:
    variants = [
        "https://www.example.org/news/1/?b=2&a=1",
        "http://example.org/news/1?a=1&b=2&utm_medium=rss",
        "https://example.org:443/news/1?a=1&b=2#x",
    ]
    assert len({url_key(v) for v in variants}) == 1
    assert article_id(variants[0]) == article_id(variants[1])
    assert re.fullmatch(r"[0-9a-f]{20}", article_id(variants[0]))
    assert article_id("https://example.org/news/2") != article_id(variants[0])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.org/x", None),
        ("ftp://example.org/x", "only http"),
        ("file:///etc/passwd", "only http"),
        ("https:///x", "no host"),
        ("https://a.org/" + "x" * 3000, "longer than"),
        ("https://user:pw@a.org/", "credentials"),
        ("https://a.org/a b", "whitespace"),
    ],
)
def test_url_syntax(url: str, problem: str | None) -> None:
    found = is_public_http_url_syntax(url)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 01 Sep 2020 10:20:30 +0300", "2020-09-01T10:20:30+03:00"),
        ("Tue, 01 Sep 2020 10:20:30 GMT", "2020-09-01T10:20:30+00:00"),
        ("2025-05-14T20:28:12.467000+03:00", "2025-05-14T20:28:12+03:00"),
        ("2025-05-14T20:28:12Z", "2025-05-14T20:28:12+00:00"),
        ("2025-05-14 20:28:12+0300", "2025-05-14T20:28:12+03:00"),
        ("2025-05-14T20:28:12", "2025-05-14T20:28:12"),
        ("2025-05-14", "2025-05-14"),
        ("yesterday", None),
        ("1970-01-01", None),
        ("2999-01-01T00:00:00Z", None),
    ],
)
def test_dates(text: str, expected: str | None) -> None:
    assert format_iso(parse_date(text)) == expected


def test_date_types() -> None:
    assert isinstance(parse_date("2024-01-02"), date)
    parsed = parse_date("2024-01-02T03:04:05-05:00")
    assert isinstance(parsed, datetime) and parsed.utcoffset() == timedelta(hours=-5)
    assert parsed.tzinfo is not None and parsed.astimezone(UTC).hour == 8


UKRAINIAN = "<html><head>{meta}<title>Новини</title></head><body><p>Україна отримала нову допомогу від партнерів, повідомили у міністерстві.</p></body></html>"


@pytest.mark.parametrize(
    ("codec", "header", "meta"),
    [
        ("cp1251", None, '<meta charset="windows-1251">'),
        ("cp1251", "text/html; charset=windows-1251", ""),
        ("cp1251", None, ""),  # not declared at all
        ("cp1251", "text/html; charset=iso-8859-1", ""),  # declared wrongly
        ("koi8_u", None, '<meta http-equiv="Content-Type" content="text/html; charset=koi8-u">'),
        ("koi8_u", "text/html; charset=windows-1251", ""),  # KOI8 served as windows-1251
        ("utf-8", "text/html; charset=windows-1251", ""),  # UTF-8 served as windows-1251
        ("utf-8", None, '<meta charset="iso-8859-1">'),
    ],
)
def test_cyrillic_pages_decode_correctly(codec: str, header: str | None, meta: str) -> None:
    html = UKRAINIAN.format(meta=meta)
    text, _ = decode_html(html.encode(codec), header)
    assert "Україна отримала нову допомогу" in text


def test_russian_koi8r_undeclared() -> None:
    html = "<html><body><p>Правительство России объявило о новых мерах поддержки экономики страны.</p></body></html>"
    text, encoding = decode_html(html.encode("koi8_r"), None)
    assert "Правительство России" in text and encoding.startswith("koi8")


def test_western_page_stays_western() -> None:
    html = "<html><head><meta charset='iso-8859-1'></head><body><p>Grüße aus München, schöne Straße.</p></body></html>"
    text, _ = decode_html(html.encode("latin-1"), None)
    assert "Grüße aus München" in text


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|a)*$", r"^(\w+\s?)*$", r"(.*a){20}", r"(?:/.+)+x", r"(x+x+)+y"])
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    assert isinstance(check_follow_pattern(pattern), RegexProblem)


@pytest.mark.parametrize(
    "pattern",
    [r"/news/.+\.html?$", r"/\d{4}/\d{2}/\d{2}/[\w-]+/?$", r"(?:/[a-z-]+)+/\d+\.html", r"/(?:news|articles)/\d+"],
)
def test_ordinary_patterns_are_accepted_and_fast(pattern: str) -> None:
    compiled = check_follow_pattern(pattern)
    assert isinstance(compiled, re.Pattern)
    started = time.perf_counter()
    compiled.search("https://example.org/" + "a/" * 1000 + "!")
    assert time.perf_counter() - started < 0.5
