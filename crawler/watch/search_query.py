"""A search as ``scrapy sources search`` takes it: words and "quoted phrases" that must all be
there (in any inflected form, in the original or the English), ``-words`` that must not, and
filters. It becomes a watchlist of its own, so a search finds exactly what a watchlist with
those terms would match; the store is asked only for candidates (every word present, in any
form), which the matcher then confirms (a phrase's words in a row) and ranks newest first.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from crawler.config.watchlists_file import Term, Watchlist
from crawler.watch.words import Script, script_of, tokens, word_keys

__all__ = ["QueryWord", "SearchQuery", "parse_query"]


@dataclass(frozen=True, slots=True)
class QueryWord:
    """A word as the index is asked for it: every form of a Cyrillic word; others as written (the
    index stems English words itself)."""

    written: str
    forms: frozenset[str]
    cyrillic: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    watchlist: Watchlist
    # Every word of every wanted term: each must be in a candidate, in one of its forms.
    words: tuple[QueryWord, ...]
    since: float | None = None
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    story: str | None = None
    limit: int = 20
    notes: list[str] = field(default_factory=list)


def parse_query(text: str, **filters: object) -> SearchQuery:
    """``text`` as a search: raises ValueError when nothing in it can be searched for."""
    try:
        parts = shlex.split(text, posix=True)
    except ValueError:
        parts = text.replace('"', " ").split()
    wanted: list[Term] = []
    excluded: list[Term] = []
    for part in parts:
        negative = part.startswith("-") and len(part) > 1
        body = part[1:] if negative else part
        exact = body.startswith("=")  # =ЗАЕС: that form only
        body = body[1:] if exact else body
        if not tokens(body):
            continue
        (excluded if negative else wanted).append(Term(body, exact))
    if not wanted:
        raise ValueError(f"nothing to search for in {text!r}: give a word or a quoted phrase")
    watchlist = Watchlist("search", all=tuple((term,) for term in wanted), exclude=tuple(excluded))
    words = tuple(
        QueryWord(word, word_keys(word, term.exact) if script_of(word) == Script.CYRILLIC else frozenset({word}),
                  script_of(word) == Script.CYRILLIC)
        for term in wanted
        for word in tokens(term.text)
    )  # fmt: skip
    return SearchQuery(text, watchlist, tuple(dict.fromkeys(words)), **filters)  # type: ignore[arg-type]
