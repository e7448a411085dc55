"""Split article fields into translation units and pack units into provider calls.

A *unit* is a paragraph, or a piece of a paragraph that is longer than the
provider accepts in one text. Pieces are cut at sentence ends, else at spaces,
else (one enormous "word") at the limit itself, so joining the pieces with a
space gives the paragraph back without losing or repeating anything. Units
never contain a newline, which lets single-text providers get several units
joined by newlines and lets us check that the structure came back intact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Unit", "join_pieces", "pack", "reassemble", "split_paragraph", "units_for"]

# A sentence ends with . ! ? … (optionally followed by closing quotes/brackets)
# before whitespace and an upper-case letter, digit or opening quote/dash.
_SENTENCE_END = re.compile(r"[.!?…][\"'»”)\]]?(\s+)(?=[\"'«“(\[—–-]?[A-ZА-ЯЁІЇЄҐ0-9])")


@dataclass(frozen=True, slots=True)
class Unit:
    """One text sent for translation: ``field``'s paragraph ``paragraph``, piece ``piece``;
    ``glue`` joins it to the previous piece of the same paragraph."""

    field: str
    paragraph: int
    piece: int
    text: str
    glue: str = ""


def _sentences(paragraph: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        parts.append(paragraph[start : match.start(1)])
        start = match.end(1)
    parts.append(paragraph[start:])
    return [part for part in parts if part]


class _Packer:
    """Joins items with single spaces into pieces of at most ``limit`` characters, each
    (" ", piece): joined back with a space."""

    def __init__(self, limit: int):
        self.limit = limit
        self.pieces: list[tuple[str, str]] = []
        self.current = ""

    def add(self, item: str) -> None:
        candidate = f"{self.current} {item}" if self.current else item
        if len(candidate) <= self.limit:
            self.current = candidate
        else:
            self.close()
            self.current = item

    def close(self) -> list[tuple[str, str]]:
        if self.current:
            self.pieces.append((" ", self.current))
            self.current = ""
        return self.pieces


def _cut(text: str, limit: int) -> list[tuple[str, str]]:
    """(glue, part) pairs of at most ``limit`` characters, split at spaces; a word longer
    than ``limit`` is cut hard and its parts are glued back without a space."""
    packer = _Packer(limit)
    for word in text.split(" "):
        if len(word) <= limit:
            packer.add(word)
            continue
        glue = " "
        packer.close()
        while len(word) > limit:
            packer.pieces.append((glue, word[:limit]))
            word, glue = word[limit:], ""
        if word:  # the tail of a hard-cut word
            packer.pieces.append(("", word))
    return packer.close()


def split_paragraph(paragraph: str, limit: int) -> list[tuple[str, str]]:
    """(glue, piece) pairs, each piece at most ``limit`` characters, such that joining
    every piece to the previous one with its glue gives ``paragraph`` back exactly."""
    if len(paragraph) <= limit:
        return [("", paragraph)]
    packer = _Packer(limit)
    for sentence in _sentences(paragraph):
        if len(sentence) > limit:
            packer.close()
            packer.pieces.extend(_cut(sentence, limit))
            continue
        packer.add(sentence)
    pieces = packer.close()
    if not pieces:  # nothing but spaces: nothing to translate, kept as it is
        return [("", paragraph)]
    return [("", pieces[0][1]), *pieces[1:]]


def join_pieces(pieces: Iterable[tuple[str, str]]) -> str:
    return "".join(glue + text for glue, text in pieces)


def _paragraphs(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n")]


def units_for(fields: dict[str, str | None], max_text_chars: int) -> list[Unit]:
    """Units of every non-empty field; empty paragraphs are kept as empty units (not sent)."""
    units: list[Unit] = []
    for name, value in fields.items():
        if not value:
            continue
        for index, paragraph in enumerate(_paragraphs(value)):
            pieces = split_paragraph(paragraph, max_text_chars) if paragraph else [("", "")]
            for piece, (glue, text) in enumerate(pieces):
                units.append(Unit(name, index, piece, text, glue))
    return units


def reassemble(units: Iterable[Unit], translations: dict[str, str], fields: Iterable[str]) -> dict[str, str | None]:
    """Field texts from unit translations: pieces joined by spaces, paragraphs by newlines."""
    paragraphs: dict[str, dict[int, list[tuple[str, str]]]] = {name: {} for name in fields}
    for unit in units:
        translated = translations.get(unit.text, "") if unit.text else ""
        paragraphs.setdefault(unit.field, {}).setdefault(unit.paragraph, []).append((unit.glue, translated))
    result: dict[str, str | None] = {}
    for name, by_index in paragraphs.items():
        if not by_index:
            result[name] = None
            continue
        result[name] = "\n".join(join_pieces(by_index[i]).strip() for i in sorted(by_index))
    return result


def pack(texts: list[str], max_chars: int, max_items: int) -> list[list[str]]:
    """Group texts into as few calls as fit: at most ``max_items`` texts and ``max_chars``
    characters each (one separator counted per extra text); a text never straddles
    two calls. First-fit decreasing: long texts first, short ones fill the gaps."""
    calls: list[list[str]] = []
    sizes: list[int] = []
    for text in sorted(texts, key=len, reverse=True):
        for index, call in enumerate(calls):
            if len(call) < max_items and sizes[index] + 1 + len(text) <= max_chars:
                call.append(text)
                sizes[index] += 1 + len(text)
                break
        else:
            calls.append([text])
            sizes.append(len(text))
    return calls
