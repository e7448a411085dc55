"""Which watchlists an article matches, and by which terms.

Every term of every watchlist is compiled once into a pattern: per word, the set of keys an
article's word may have to be it (crawler/watch/words.py). An article's words are then read
once per text, each looked up in a dictionary of the patterns' first words; only there are the
next words compared, so a phrase matches as a phrase, and the cost hardly grows with the number
of watchlists. The original and the English text are read apart: a term matches in either, and
an article's mentions are those of the text with more of them (a mention and its translation are
one mention).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from crawler.config.watchlists_file import Term, Watchlist
from crawler.watch.words import Script, script_of, text_keys, tokens, word_keys

__all__ = ["Article", "Match", "Matcher", "Role"]


class Role(StrEnum):
    ANY = "any"
    ALL = "all"
    NOT = "not"


@dataclass(frozen=True, slots=True)
class _Pattern:
    watchlist: int
    role: Role
    group: int  # the AND group (Role.ALL); 0 otherwise
    term: str
    words: tuple[frozenset[str], ...]


@dataclass(frozen=True, slots=True)
class Article:
    """What is matched: the texts (original, English: either may be empty) and the filters' facts."""

    source: str
    language: str
    original: tuple[str, ...]
    english: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    watchlist: str
    terms: tuple[str, ...]
    mentions: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.watchlist, "terms": list(self.terms), "mentions": self.mentions}


class Matcher:
    def __init__(self, watchlists: tuple[Watchlist, ...]):
        self.watchlists = watchlists
        self.patterns: list[_Pattern] = []
        self._first: dict[str, list[int]] = {}
        # Whether any word is matched by its English stem: if none, an article's Latin words
        # need no stemming.
        self._stems = False
        for index, watchlist in enumerate(watchlists):
            for term in watchlist.terms:
                self._add(index, Role.ANY, 0, term)
            for group, terms in enumerate(watchlist.all):
                for term in terms:
                    self._add(index, Role.ALL, group, term)
            for term in watchlist.exclude:
                self._add(index, Role.NOT, 0, term)

    def _add(self, watchlist: int, role: Role, group: int, term: Term) -> None:
        words = tuple(word_keys(word, term.exact) for word in tokens(term.text))
        if not words:
            return
        self._stems = self._stems or any(script_of(word) == Script.LATIN for word in tokens(term.text))
        pattern_id = len(self.patterns)
        self.patterns.append(_Pattern(watchlist, role, group, term.text, words))
        for key in words[0]:
            self._first.setdefault(key, []).append(pattern_id)

    def _scan(self, texts: tuple[str, ...]) -> Counter[int]:
        """Mentions of each pattern in ``texts`` (each read on its own: no phrase spans two)."""
        counts: Counter[int] = Counter()
        for text in texts:
            if text:
                self._count(self.keys(text), counts)
        return counts

    def _count(self, keys: list[str], counts: Counter[int]) -> None:
        """Adds the mentions in one text's keys: a one-word term by counting its keys (in C, no
        loop over the text); only phrases whose first word is there are looked for in place."""
        seen = Counter(keys)
        for key in seen.keys() & self._first.keys():
            phrases = []
            for pattern_id in self._first[key]:
                if len(self.patterns[pattern_id].words) == 1:
                    counts[pattern_id] += seen[key]
                else:
                    phrases.append(pattern_id)
            if phrases:
                for pattern_id, _ in self._phrases_at(keys, key, phrases):
                    counts[pattern_id] += 1

    def _phrases_at(self, keys: list[str], key: str, phrases: list[int]) -> Iterator[tuple[int, int]]:
        """(pattern, position) of each phrase starting with ``key`` where it stands in full;
        the places of ``key`` found by list.index (in C), not by a loop over the text."""
        position = -1
        while True:
            try:
                position = keys.index(key, position + 1)
            except ValueError:
                return
            for pattern_id in phrases:
                words = self.patterns[pattern_id].words
                if position + len(words) <= len(keys) and all(
                    keys[position + i] in words[i] for i in range(1, len(words))
                ):
                    yield pattern_id, position

    def keys(self, text: str) -> list[str]:
        """``text``'s words as this matcher looks them up."""
        return text_keys(text) if self._stems else tokens(text)

    def occurrences(self, keys: list[str]) -> list[tuple[int, int, int]]:
        """(pattern, position, words) of every mention in a text's word keys."""
        found = [
            (pattern_id, position, len(self.patterns[pattern_id].words))
            for key in set(keys) & self._first.keys()
            for pattern_id, position in self._phrases_at(keys, key, self._first[key])
        ]
        return sorted(found, key=lambda hit: hit[1])

    def match(self, article: Article) -> list[Match]:
        """The watchlists ``article`` matches, in the file's order."""
        if not self.patterns:
            return []
        original, english = self._scan(article.original), self._scan(article.english)
        by_watchlist: dict[int, list[int]] = {}
        for pattern_id in set(original) | set(english):
            by_watchlist.setdefault(self.patterns[pattern_id].watchlist, []).append(pattern_id)
        matches = []
        for index, mine in sorted(by_watchlist.items()):
            watchlist = self.watchlists[index]
            if watchlist.sources and article.source not in watchlist.sources:
                continue
            if watchlist.languages and article.language not in watchlist.languages:
                continue
            match = self._weigh(watchlist, mine, original, english)
            if match is not None:
                matches.append(match)
        return matches

    def _weigh(
        self, watchlist: Watchlist, mine: list[int], original: Counter[int], english: Counter[int]
    ) -> Match | None:
        """Whether the patterns of ``watchlist`` found (``mine``) make a match."""
        if any(self.patterns[p].role == Role.NOT for p in mine):
            return None
        positive = [p for p in mine if self.patterns[p].role != Role.NOT]
        if watchlist.terms and not any(self.patterns[p].role == Role.ANY for p in positive):
            return None
        groups = {self.patterns[p].group for p in positive if self.patterns[p].role == Role.ALL}
        if len(groups) < len(watchlist.all):
            return None
        mentions = max(sum(original[p] for p in positive), sum(english[p] for p in positive))
        if mentions < watchlist.min_matches:
            return None
        terms = tuple(dict.fromkeys(self.patterns[p].term for p in sorted(positive)))
        return Match(watchlist.name, terms, mentions)
