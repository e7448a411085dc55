"""Listing pages: which links are articles, and where the next page is.

A listing shows the newest articles first; when more were published between two
runs than one page holds, the rest has moved to page 2. The spider follows the
next page only while pages still hold links it has not seen, so a normal run
reads one page and a run after a busy night reads as many as it needs.
"""

from __future__ import annotations

import re

from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.parsing.urls import is_public_http_url_syntax

__all__ = ["listing_links", "next_page_url"]

# Link texts of "next page" controls on news sites (English, Ukrainian, Russian), compared lower-cased.
_NEXT_TEXTS = frozenset(
    {
        "next", "next page", "older", "older posts", "older news", "more news",
        "далі", "наступна", "наступна сторінка", "наступні", "більше новин", "ще новини",
        "далее", "следующая", "следующая страница", "вперед", "ещё новости", "больше новостей",
        "»", "›", "→", ">", ">>", "»»",
    }
)  # fmt: skip
_REL_NEXT = '//link[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
_A_REL_NEXT = '//a[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
_CLASS_NEXT = (
    '//*[contains(@class, "pagination") or contains(@class, "pager") or contains(@class, "paging")]'
    '//a[contains(@class, "next")]/@href'
)


def listing_links(response: TextResponse, follow: list[re.Pattern[str]]) -> list[str]:
    """Absolute URLs (without fragments, each once) of the links on a listing page that one
    of the ``follow`` patterns finds in."""
    extractor = LinkExtractor(allow=tuple(follow), unique=True)
    return list(dict.fromkeys(link.url.split("#", 1)[0] for link in extractor.extract_links(response)))


def next_page_url(response: TextResponse, override: str | None = None) -> str | None:
    """The page after this one: the listing's ``next`` XPath, else rel="next", a pager's
    "next" link, or a link whose text says next (далі, следующая, », …)."""
    candidates: list[str] = []
    if override:
        candidates = response.xpath(override).getall()
    else:
        for expression in (_REL_NEXT, _A_REL_NEXT, _CLASS_NEXT):
            candidates = response.xpath(expression).getall()
            if candidates:
                break
        else:
            candidates = [
                anchor.attrib["href"]
                for anchor in response.xpath("//a[@href]")
                if " ".join(anchor.xpath("string()").get("").split()).lower() in _NEXT_TEXTS
            ]
    for candidate in candidates:
        url = response.urljoin(candidate.strip())
        if candidate.strip() and not candidate.strip().startswith("#") and is_public_http_url_syntax(url) is None:
            return url.split("#", 1)[0]
    return None
