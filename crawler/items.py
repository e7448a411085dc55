"""The output record: one JSON line per article (field order is the documented schema)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["ArticleItem", "TranslationStatus", "translation_record"]


class TranslationStatus(StrEnum):
    TRANSLATED = "translated"
    NOT_NEEDED = "not_needed"
    SKIPPED = "skipped"
    FAILED = "failed"
    # Not translated this run: TRANSLATION_MAX_CHARS_PER_RUN (or the provider's quota) was
    # reached. Written with null *_en, and translated first on the next run.
    DEFERRED = "deferred"


def translation_record(
    status: str,
    *,
    provider: str | None = None,
    source_language: str | None = None,
    target_language: str | None = None,
    chars: int = 0,
    error: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The record's ``translation`` object; ``reason`` says why it was not translated, for
    people (the digest shows it), where ``error`` keeps the provider's own message."""
    return {
        "status": status,
        "provider": provider,
        "from": source_language,
        "to": target_language,
        "chars": chars,
        "error": error,
        "reason": reason,
    }


@dataclass
class ArticleItem:
    id: str
    source: str
    url: str
    canonical_url: str
    discovered_via: dict[str, str]
    title: str
    text: str
    summary: str | None
    author: str | None
    published: str | None
    fetched_at: str
    language: str
    language_confidence: float
    tags: list[str]
    title_en: str | None = None
    summary_en: str | None = None
    text_en: str | None = None
    translation: dict[str, Any] = field(default_factory=lambda: translation_record("skipped"))
    content_hash: str = ""
    revision: int = 1
    # The id of the story's first article (crawler/stories); set by the StoryPipeline.
    story_id: str = ""
    editions: dict[str, str] = field(default_factory=dict)
    # Set on a revision after the first, a removal and a return (crawler/evidence/changes.py):
    # what changed, how it was found, and for a removal the HTTP evidence; null otherwise.
    change: dict[str, Any] | None = None
    # Where the response this record was read from is archived (WARC_DIR): file, offset,
    # length, record id; null without a WARC archive (crawler/output/warc_archive.py).
    warc: dict[str, Any] | None = None
    # The watchlists the article matched (crawler/output/watchlists.py): per watchlist its name,
    # the terms found, their mentions, and in which text ("current"; "previous": the text a
    # revision or removal replaced); empty without watchlists or without a match.
    watchlists: list[dict[str, Any]] = field(default_factory=list)
