"""Listing pages: article links and the next page (crawler/spiders/listing.py), on real Scrapy responses."""

from __future__ import annotations

import re

import pytest
from scrapy.http import HtmlResponse

from crawler.spiders.listing import listing_links, next_page_url

URL = "https://news.example.org/news/"


def response(body: str, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><head></head><body>{body}</body></html>".encode(), encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<a href="/news/?page=2" rel="next">2</a>', "https://news.example.org/news/?page=2"),
        ('<a href="/news/page/2/" rel="nofollow next">»</a>', "https://news.example.org/news/page/2/"),
        (
            '<div class="pagination"><a class="pagination__next" href="?p=2">Далі</a></div>',
            "https://news.example.org/news/?p=2",
        ),
        ('<a href="/news/2">1</a> <a href="/news/3">Наступна сторінка</a>', "https://news.example.org/news/3"),
        ('<a href="/news/?start=20">  Следующая  </a>', "https://news.example.org/news/?start=20"),
        ('<a href="/news/older">Older posts</a>', "https://news.example.org/news/older"),
        ('<a href="#more">»</a> <a href="javascript:next()">Next</a>', None),
        ('<a href="/news/1.html">Новина</a>', None),
    ],
)
def test_next_page_is_found_the_ways_news_sites_mark_it(body: str, expected: str | None) -> None:
    assert next_page_url(response(body)) == expected


def test_rel_next_in_the_head_and_an_explicit_xpath() -> None:
    page = HtmlResponse(
        url=URL,
        body=b'<html><head><link rel="next" href="/news/?page=2"></head><body><a class="more" href="/x">more</a></body></html>',
    )
    assert next_page_url(page) == "https://news.example.org/news/?page=2"
    assert next_page_url(page, '//a[@class="more"]/@href') == "https://news.example.org/x"


def test_listing_links_are_the_ones_follow_finds() -> None:
    body = (
        '<base href="https://news.example.org/"><a href="news/1.html">a</a> <a href="/news/2.html#comments">b</a>'
        ' <a href="/about/">c</a> <a href="mailto:desk@example.org">d</a> <a href="/news/1.html">a again</a>'
    )
    links = listing_links(response(body), [re.compile(r"/news/\d+\.html")])
    assert links == ["https://news.example.org/news/1.html", "https://news.example.org/news/2.html"]
