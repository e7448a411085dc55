"""What extraction takes and gives: the options a caller knows about a page, the article,
and the refusal when there is none. Apart from crawler/parsing/article.py, so that the crawl
process, which hands pages to the extraction workers and reads their answers, does not
import trafilatura, jusText, htmldate and langdetect (30 MiB it never uses, when workers
extract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from crawler.parsing.feeds import FeedEntry
from crawler.parsing.fingerprint import Fingerprint

__all__ = ["Article", "ExtractionOptions", "Refusal", "Rejected"]


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    """What the caller knows about the page besides its HTML."""

    url: str
    language_hint: str | None = None
    rules: dict[str, str] = field(default_factory=dict)
    entry: FeedEntry | None = None
    content_type: str | None = None
    # Whether to compute the text's story fingerprint (off when STORIES_ENABLED is).
    fingerprint: bool = True


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    text: str
    summary: str | None
    author: str | None
    published: str | None
    canonical_url: str
    tags: tuple[str, ...]
    language: str
    language_confidence: float
    content_hash: str
    # {language: URL} of the same article in other languages (the page's hreflang links).
    editions: tuple[tuple[str, str], ...] = ()
    # The text's MinHash, for story clustering (None for text too short to match on).
    fingerprint: Fingerprint | None = None


# Shorter main text is a teaser, an app shell or a cookie wall, not an article (the browser
# also waits for a rendered page to hold this much).
MIN_TEXT_CHARS = 200


class Refusal(StrEnum):
    """Why a fetched page gave no article; source health watches their share."""

    EMPTY = "empty"
    NOT_HTML = "not_html"
    EXTRACTION_ERROR = "extraction_error"
    EXTRACTION_TIMEOUT = "extraction_timeout"
    BLOCKED = "blocked"
    NO_ARTICLE = "no_article"


@dataclass(frozen=True, slots=True)
class Rejected:
    """No article: ``reason`` is a short stats key, ``detail`` says it for humans."""

    reason: Refusal
    detail: str
    # The page looks built by scripts (an app shell) or is a script challenge: a browser may
    # read an article there (``render: auto``).
    needs_browser: bool = False
