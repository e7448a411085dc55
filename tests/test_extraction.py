"""Pure extraction: corpus pages against ground truth, refusals, overrides, feed fallbacks."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from crawler.parsing.article import Article, ExtractionOptions, Rejected, content_hash, extract_article, sanitize_text
from crawler.parsing.feeds import FeedEntry
from tests.site.corpus import SKIP_REASON, have_corpus, news_pages, text_truth_pages
from tests.site.walls import WALLS

needs_corpus = pytest.mark.skipif(not have_corpus(), reason=SKIP_REASON)
TOKEN = re.compile(r"\w+")
BODY = " ".join(["Парламент ухвалив закон про бюджет на наступний рік після тривалих дебатів."] * 8)


def f1(a: str, b: str) -> float:
    p, t = Counter(TOKEN.findall(a.lower())), Counter(TOKEN.findall(b.lower()))
    overlap = sum((p & t).values())
    return 0.0 if not overlap else 2 * overlap / (sum(p.values()) + sum(t.values()))


def page(title: str = "Новини дня", body: str = BODY, head: str = "") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>"


@needs_corpus
def test_corpus_pages_against_ground_truth() -> None:
    checked = 0
    for corpus_page in news_pages():
        result = extract_article(
            corpus_page.html, ExtractionOptions(url=corpus_page.origin_url or "https://example.org/a")
        )
        assert isinstance(result, Article), (corpus_page.key, result)
        assert result.language == corpus_page.language, corpus_page.key
        if corpus_page.body:
            assert f1(result.text, corpus_page.body) >= 0.8, corpus_page.key
        if corpus_page.title:
            assert TOKEN.findall(result.title.lower()) == TOKEN.findall(corpus_page.title.lower()), corpus_page.key
        checked += 1
    assert checked >= 15


@needs_corpus
def test_kommersant_metadata() -> None:
    kommersant = next(p for p in news_pages() if "kommersant" in p.key)
    result = extract_article(kommersant.html, ExtractionOptions(url=kommersant.origin_url))
    assert isinstance(result, Article)
    assert result.published == "2025-05-14T20:28:12+03:00"
    assert result.author == "Андрей Колесников"
    assert result.canonical_url == "https://www.kommersant.ru/doc/7715044"
    assert "президент" in result.tags and len(result.tags) <= 30
    assert "\n" in result.text and not result.text.startswith(result.title)
    # Its three photos' captions and credits (<figcaption>) are not the story's text.
    assert "Фото: Дмитрий Азаров" not in result.text
    assert "Анвар Ибрагим очень близко к сердцу" not in result.text


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (
            "<html><head><title>Attention Required! | Cloudflare</title></head><body><div id='cf-error-details'>Please enable cookies.</div></body></html>",
            "blocked",
        ),
        (
            "<html><head><title>Just a moment...</title></head><body><div class='cf-browser-verification'>Checking your browser</div></body></html>",
            "blocked",
        ),
        (page(title="404 — сторінку не знайдено"), "blocked"),
        (
            "<html><head><title>App</title></head><body><div id='root'></div><script>window.__APP__={}</script></body></html>",
            "no_article",
        ),
        ("<html><body><p>We use cookies. Accept all?</p><button>OK</button></body></html>", "no_article"),
        ("", "empty"),
    ],
)
def test_pages_without_an_article_are_refused(html: str, reason: str) -> None:
    result = extract_article(html, ExtractionOptions(url="https://example.org/a"))
    assert isinstance(result, Rejected) and result.reason == reason, result


@pytest.mark.parametrize("name", sorted(WALLS))
def test_realistic_consent_walls_and_app_shells_are_refused(name: str) -> None:
    """Long enough to pass for an article, and what trafilatura (fast or full) returns for them."""
    result = extract_article(WALLS[name], ExtractionOptions(url="https://news.example.org/2026/11/story.html"))
    assert isinstance(result, Rejected) and result.reason == "no_article", result


def test_an_article_with_a_cookie_banner_or_its_text_in_a_header_is_kept() -> None:
    banner = "<div class='cookies'><p>We use cookies and our partners use personalised ads; Accept all?</p></div>"
    assert isinstance(extract_article(page() + banner, ExtractionOptions(url="https://example.org/a")), Article)
    in_header = page().replace("<article>", "<header>").replace("</article>", "</header>")
    assert isinstance(extract_article(in_header, ExtractionOptions(url="https://example.org/a")), Article)


def test_fast_mode_misses_are_rescued_by_the_full_cascade(corpus_available: None) -> None:
    """fundus AnadoluAjansi: fast mode finds 187 characters, the full cascade the whole article."""
    page = next(p for p in text_truth_pages() if "AnadoluAjansi" in p.key)
    result = extract_article(page.html, ExtractionOptions(url=page.url))
    assert isinstance(result, Article) and len(result.text) > 4000
    words = set(page.text.lower().split())
    assert len(words & set(result.text.lower().split())) > 0.9 * len(words)


def test_captcha_in_a_comment_form_does_not_refuse_a_real_article() -> None:
    html = page().replace("</article>", "</article><form><div class='g-recaptcha'></div></form>")
    assert isinstance(extract_article(html, ExtractionOptions(url="https://example.org/a")), Article)


def test_xpath_overrides_win() -> None:
    html = (
        "<html><head><title>Wrong title | Site</title><meta property='article:published_time' content='2020-01-01T00:00:00Z'></head><body>"
        "<div class='promo'><p>" + "Реклама і ще раз реклама. " * 30 + "</p></div>"
        "<div class='story'><h2 class='hl'>Справжній заголовок</h2><span class='by'>Олена Коваль</span>"
        "<time class='t' datetime='2024-06-01T12:30:00+03:00'>1 червня</time>"
        f"<p>{BODY}</p><p>Другий абзац статті про бюджет і реформи.</p></div></body></html>"
    )
    rules = {
        "title": "//h2[@class='hl']",
        "body": "//div[@class='story']/p",
        "published": "//time[@class='t']/@datetime",
        "author": "//span[@class='by']",
    }
    result = extract_article(html, ExtractionOptions(url="https://example.org/a", rules=rules))
    assert isinstance(result, Article)
    assert result.title == "Справжній заголовок"
    assert result.published == "2024-06-01T12:30:00+03:00"
    assert result.author == "Олена Коваль"
    assert result.text.split("\n") == [BODY, "Другий абзац статті про бюджет і реформи."]
    assert "Реклама" not in result.text


def test_feed_entry_fills_what_the_page_lacks() -> None:
    html = f"<html><body><div><p>{BODY}</p><p>{BODY}</p></div></body></html>"
    entry = FeedEntry(
        url="https://example.org/a",
        title="Заголовок зі стрічки",
        published="2025-03-04T05:06:07+02:00",
        summary="Анонс",
        author="Редакція",
        tags=("економіка",),
    )
    result = extract_article(html, ExtractionOptions(url="https://example.org/a", entry=entry))
    assert isinstance(result, Article)
    assert (result.title, result.published, result.summary, result.author) == (
        "Заголовок зі стрічки",
        "2025-03-04T05:06:07+02:00",
        "Анонс",
        "Редакція",
    )
    assert "економіка" in result.tags


def test_feed_time_completes_a_page_date_of_the_same_day() -> None:
    html = page(head="<meta name='date' content='2025-03-04'>")
    entry = FeedEntry(url="https://example.org/a", published="2025-03-04T05:06:07+02:00")
    result = extract_article(html, ExtractionOptions(url="https://example.org/a", entry=entry))
    assert isinstance(result, Article) and result.published == "2025-03-04T05:06:07+02:00"


def test_canonical_url_and_language_hint() -> None:
    html = page(head="<link rel='canonical' href='/news/canonical.html'>")
    result = extract_article(html, ExtractionOptions(url="https://example.org/amp/x?utm_source=a", language_hint="uk"))
    assert isinstance(result, Article)
    assert result.canonical_url == "https://example.org/news/canonical.html"
    assert result.language == "uk"


def test_windows_1251_bytes() -> None:
    html = page(head="<meta charset='windows-1251'>").encode("cp1251")
    result = extract_article(html, ExtractionOptions(url="https://example.org/a"))
    assert isinstance(result, Article) and "Парламент ухвалив закон" in result.text


def test_content_hash_ignores_spacing_and_case_only() -> None:
    assert content_hash("Hello  world\nAgain") == content_hash("hello world again")
    assert content_hash("Hello world") != content_hash("Hello world!")


def test_sanitize_text() -> None:
    assert sanitize_text("a\x00b\x07c\ud800d\te\nf") == "abcd\te\nf"
