"""Where in a text a search or a watchlist found its terms, and a snippet around the first."""

from __future__ import annotations

import re

from crawler.watch.matcher import Matcher
from crawler.watch.words import WORD, fold

__all__ = ["snippet"]

_SPACE = re.compile(r"\s+")


def _spans(matcher: Matcher, text: str) -> list[tuple[int, int]]:
    """Character spans of the matcher's wanted terms in ``text``."""
    words = list(WORD.finditer(text))
    keys = matcher.keys(" ".join(fold(w.group()) for w in words))
    if len(keys) != len(words):  # folding split or merged a word: spans cannot be trusted
        return []
    spans = []
    for pattern_id, position, length in matcher.occurrences(keys):
        if matcher.patterns[pattern_id].role != "not":
            spans.append((words[position].start(), words[position + length - 1].end()))
    return sorted(spans)


def snippet(matcher: Matcher, text: str, width: int = 160) -> str | None:
    """About ``width`` characters of ``text`` around its first match, matches in [brackets];
    None when the text holds none."""
    if not text:
        return None
    spans = _spans(matcher, text)
    if not spans:
        return None
    first = spans[0][0]
    start = max(0, text.rfind(" ", 0, max(0, first - width // 3)) + 1) if first > width // 3 else 0
    end = min(len(text), start + width)
    end = text.find(" ", end) if text.find(" ", end) != -1 else len(text)
    shown, cursor = [], start
    for span_start, span_end in spans:
        if span_start < cursor or span_end > end:
            continue
        shown += [text[cursor:span_start], "[", text[span_start:span_end], "]"]
        cursor = span_end
    shown.append(text[cursor:end])
    body = _SPACE.sub(" ", "".join(shown)).strip()
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")
