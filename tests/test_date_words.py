"""Dates written in words: htmldate's dateparser fallback in the languages news is read in
(crawler/parsing/date_words.py), and no more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.parsing import date_words
from crawler.parsing.article import Article, ExtractionOptions, extract_article

ROOT = Path(__file__).resolve().parent.parent
_BODY = "<p>" + "Текст новини про важливі події в країні та світі, з подробицями. " * 12 + "</p>"


def _page(lang: str, written: str) -> bytes:
    """An article whose only date is written out in words in its text: no meta tag, no
    <time>, no JSON-LD, no date in the URL."""
    title = "Заголовок новини про події"
    return (
        f"<html lang='{lang}'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<div class='date'>{written}</div>{_BODY}</article></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("lang", "written"),
    [
        ("uk", "12 березня 2024"),
        ("ru", "12 марта 2024 года"),
        ("bg", "12 март 2024"),
        ("kk", "12 наурыз 2024"),
        ("be", "12 сакавіка 2024"),
    ],
)
def test_a_date_in_words_is_read_through_the_limited_parser(lang: str, written: str) -> None:
    parser = date_words._parser()
    asked: list[str] = []
    original = parser.get_date_data
    parser.get_date_data = lambda text, *args, **kwargs: (asked.append(text), original(text, *args, **kwargs))[1]
    try:
        result = extract_article(_page(lang, written), ExtractionOptions(url="https://news.example.org/item-1"))
    finally:
        del parser.get_date_data  # the instance attribute; the class's method again
    assert isinstance(result, Article)
    assert result.published == "2024-03-12"
    assert asked, "htmldate did not reach the limited parser: the date came from elsewhere"


def test_the_warm_up_loads_the_reading_languages_only() -> None:
    """In a fresh process, as in the forkserver: a string no language claims makes dateparser
    try every language it was given, so after the warm-up exactly those are loaded (with
    htmldate's own parser, all 200 of them: 41 MiB)."""
    code = (
        "import crawler.parsing.article\n"
        "from crawler.parsing import date_words\n"
        "from dateparser.languages.loader import default_loader\n"
        "date_words.warm_up()\n"
        "print(' '.join(sorted(default_loader._loaded_languages)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
    loaded = set(done.stdout.split())
    chosen = set(date_words.languages())
    assert loaded == chosen
    assert {"en", "uk", "ru", "be", "bg", "kk", "sr", "mk"} <= chosen
    assert len(chosen) < 50
