"""A search of the delivered articles: candidates from the state's index (every word of the query
in some form), confirmed by the same matcher a watchlist uses (phrases in a row, ``-words``
absent), newest first, with a snippet of the original and of the English around the first match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.state.store import AnalystReads
from crawler.watch.matcher import Article, Matcher
from crawler.watch.search_query import SearchQuery
from crawler.watch.snippets import snippet

__all__ = ["Hit", "search"]

# Candidates read per round, and at most in all: a query whose words are everywhere but whose
# phrase is rare stops after this many, with a note.
PAGE = 200
MOST_CANDIDATES = 5000


@dataclass(frozen=True, slots=True)
class Hit:
    row: dict[str, Any]
    terms: tuple[str, ...]
    original: str | None
    english: str | None

    def as_dict(self) -> dict[str, Any]:
        keep = ("article_id", "source", "language", "url", "story_id", "published", "revision", "change",
                "title", "title_en")  # fmt: skip
        return {**{k: self.row.get(k) for k in keep}, "terms": list(self.terms), "snippet": self.original,
                "snippet_en": self.english}  # fmt: skip


def _texts(row: dict[str, Any], suffix: str) -> tuple[str, ...]:
    return tuple(row.get(f"{name}{suffix}") or "" for name in ("title", "summary", "text"))


def _snippet(matcher: Matcher, texts: tuple[str, ...]) -> str | None:
    title, summary, text = texts
    return snippet(matcher, text) or snippet(matcher, summary) or snippet(matcher, title)


def search(reads: AnalystReads, query: SearchQuery) -> list[Hit]:
    """The query's hits, newest first, at most ``query.limit``; ``query.notes`` says when the
    candidates were cut short."""
    matcher = Matcher((query.watchlist,))
    hits: list[Hit] = []
    offset, page = 0, min(PAGE, 2 * query.limit)  # most candidates are hits: read few at first
    while len(hits) < query.limit and offset < MOST_CANDIDATES:
        rows = reads.search_candidates(query, offset, page)
        for row in rows:
            original, english = _texts(row, ""), _texts(row, "_en")
            article = Article(row["source"], row.get("language") or "", original, english)
            found = matcher.match(article)
            if found:
                hits.append(Hit(row, found[0].terms, _snippet(matcher, original), _snippet(matcher, english)))
                if len(hits) == query.limit:
                    break
        if len(rows) < page:
            return hits
        offset += page
        page = PAGE
    if len(hits) < query.limit and offset >= MOST_CANDIDATES:
        query.notes.append(f"only the newest {MOST_CANDIDATES} articles holding every word were checked")
    return hits
