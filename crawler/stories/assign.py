"""Which story an article belongs to (pure logic over two lookups: this run's and the store's).

The first article of a story names it (its id becomes the story id); later articles join.
The evidence, strongest first:

1. the article already has a story (an edit, a moved page, a retried translation): it
   keeps it, since a story id once given never changes;
2. an edition link: this article is another language's edition of an article whose story
   is known (either page's hreflang links to the other, whichever was crawled first);
3. a near-duplicate text: an article whose fingerprint shares an LSH band with this one's,
   whose estimated Jaccard similarity reaches ``THRESHOLD`` and whose numbers agree
   (templated reports differ in little but their figures); the most similar wins;
4. otherwise the article starts a story of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from crawler.parsing.fingerprint import THRESHOLD, Fingerprint, band_keys, numbers_agree, similarity

__all__ = ["Assignment", "PendingStories", "Reason", "StoryLookup", "assign_story"]

# Texts compared in full per lookup, those sharing the most bands first: a newsroom's
# template series shares bands with every earlier report, and must not cost a comparison each.
MAX_CANDIDATES = 50


class Reason(StrEnum):
    """Why an article got its story id (a stats key)."""

    KEPT = "kept"
    EDITION = "edition"
    NEAR_DUPLICATE = "near_duplicate"
    NEW = "new"


class StoryLookup(Protocol):
    """What is known of stories: this run's pending assignments, or the state store."""

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def linked_stories(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def story_candidates(self, keys: list[int], limit: int) -> list[tuple[str, str, bytes, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Assignment:
    story_id: str
    reason: Reason
    # The article this one matched (an edition or a near-duplicate), and how similar it is.
    matched: str | None = None
    score: float = 0.0


@dataclass
class PendingStories:
    """This run's assignments, until the run's delivery records them in the store."""

    stories: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    bands: dict[int, list[str]] = field(default_factory=dict)
    prints: dict[str, Fingerprint] = field(default_factory=dict)

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        return {i: self.stories[i] for i in article_ids if i in self.stories}

    def linked_stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        return {i: self.links[i] for i in article_ids if i in self.links}

    def story_candidates(self, keys: list[int], limit: int) -> list[tuple[str, str, bytes, bytes]]:
        shared = Counter(i for key in keys for i in self.bands.get(key, ()))
        return [
            (i, self.stories[i], self.prints[i].minhash, self.prints[i].numbers) for i, _ in shared.most_common(limit)
        ]

    def add(self, article_id: str, story_id: str, editions: Iterable[str], print_: Fingerprint | None) -> list[int]:
        """Remember an assignment; returns the fingerprint's band keys (to be stored)."""
        self.stories[article_id] = story_id
        for edition in editions:
            self.links.setdefault(edition, story_id)
        if print_ is None:
            return []
        keys = band_keys(print_.minhash)
        self.prints[article_id] = print_
        for key in keys:
            self.bands.setdefault(key, []).append(article_id)
        return keys


def _first(lookups: Iterable[StoryLookup], ask: str, ids: list[str]) -> tuple[str, str] | None:
    """(article id, story id) of the first of ``ids`` that a lookup knows, this run first."""
    for lookup in lookups:
        found = getattr(lookup, ask)(ids)
        for article_id in ids:
            if article_id in found:
                return article_id, found[article_id]
    return None


def _best_match(lookups: Iterable[StoryLookup], article_id: str, print_: Fingerprint) -> Assignment | None:
    keys = band_keys(print_.minhash)
    best: Assignment | None = None
    for lookup in lookups:
        for other, story_id, minhash, numbers in lookup.story_candidates(keys, MAX_CANDIDATES):
            if other == article_id or not numbers_agree(print_.numbers, numbers):
                continue
            score = similarity(print_.minhash, minhash)
            if score >= THRESHOLD and (best is None or score > best.score):
                best = Assignment(story_id, Reason.NEAR_DUPLICATE, other, score)
    return best


def assign_story(
    article_id: str, editions: list[str], print_: Fingerprint | None, lookups: list[StoryLookup]
) -> Assignment:
    """The story of article ``article_id``, whose editions are the article ids ``editions``."""
    if (own := _first(lookups, "stories_of", [article_id])) is not None:
        return Assignment(own[1], Reason.KEPT)
    linked = _first(lookups, "linked_stories", [article_id]) or _first(lookups, "stories_of", editions)
    linked = linked or _first(lookups, "linked_stories", editions)
    if linked is not None:
        return Assignment(linked[1], Reason.EDITION, linked[0])
    if print_ is not None and (match := _best_match(lookups, article_id, print_)) is not None:
        return match
    return Assignment(article_id, Reason.NEW)
