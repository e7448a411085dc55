"""Words as watchlists and search compare them: every inflected form of a Ukrainian or Russian
word, and English words by their stem.

Ukrainian and Russian decline nouns, adjectives and names through six or seven cases and two
numbers: "Запоріжжя" is also "Запоріжжі" and "Запоріжжям", "Энергодар" also "Энергодаре". Rather
than stem the text of every article (a stemmer also merges unrelated words: "мир" and "мира" with
"мирный"), a term is expanded once into the forms of its paradigm by pymorphy3, with the
OpenCorpora (ru) and VESUM (uk) dictionaries, and an article's words are then looked up as they
are written. A word neither dictionary knows (a new place or name) gets the paradigm pymorphy3
predicts from its ending. English has little inflection; the Snowball stemmer handles it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

__all__ = [
    "WORD", "Script", "fold", "forms", "release_dictionaries", "script_of", "stem", "text_keys", "tokens", "word_keys",
]  # fmt: skip

# Letters and digits, with an apostrophe inside a word (Ukrainian "прем'єр", English "don't").
# A hyphen splits: "прем'єр-міністра" is two words, each inflected on its own.
WORD = re.compile(r"[^\W_]+(?:['’ʼ`][^\W_]+)*")
_FOLD = (("ё", "е"), ("’", "'"), ("ʼ", "'"), ("`", "'"))
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z]")
_UKRAINIAN_ONLY = frozenset("іїєґ")
_RUSSIAN_ONLY = frozenset("ыэъ")
# Readings of a term, which an analyst writes in its dictionary form (nominative).
_DECLINABLE_MODIFIERS = frozenset({"ADJF", "PRTF"})


class Script(StrEnum):
    CYRILLIC = "cyrillic"
    LATIN = "latin"
    OTHER = "other"  # digits, other alphabets: matched as written


def fold(word: str) -> str:
    """Lower case, ё as е, every apostrophe as '."""
    word = word.lower()
    for written, folded in _FOLD:  # str.replace: a C scan each, where translate() goes by character
        word = word.replace(written, folded)
    return word


def tokens(text: str) -> list[str]:
    """The words of ``text``, folded."""
    return WORD.findall(fold(text))


def script_of(word: str) -> Script:
    if _CYRILLIC.search(word):
        return Script.CYRILLIC
    return Script.LATIN if _LATIN.search(word) else Script.OTHER


def stem(word: str) -> str:
    """An English word's Snowball stem ("plants", "planting" → "plant")."""
    return _stemmer().stemWord(word)


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


# Each word's key once worked out: a crawl's words are mostly words it has met before, and a
# dictionary lookup over a whole text (map, in C) costs a tenth of a call per word.
_KEYS: dict[str, str] = {}
_MOST_KEYS = 500_000


def text_keys(text: str) -> list[str]:
    """What each word of an article is looked up by: Latin words by their stem, others as written."""
    words = tokens(text)
    try:
        return list(map(_KEYS.__getitem__, words))
    except KeyError:  # a word not met before: learn the text's new words
        if len(_KEYS) > _MOST_KEYS:
            _KEYS.clear()
        for word in set(words) - _KEYS.keys():
            _KEYS[word] = stem(word) if word.isascii() and _LATIN.match(word) else word
        return list(map(_KEYS.__getitem__, words))


def word_keys(word: str, exact: bool = False) -> frozenset[str]:
    """The keys an article's word may have to be this term's ``word`` (already folded)."""
    if exact or script_of(word) == Script.OTHER:
        return frozenset({word})
    if script_of(word) == Script.LATIN:
        return frozenset({stem(word)}) if word.isascii() else frozenset({word})
    return forms(word)


@functools.cache
def _analyzer(language: str) -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


def _languages(word: str) -> tuple[str, ...]:
    letters = set(word)
    if letters & _UKRAINIAN_ONLY:
        return ("uk",)
    if letters & _RUSSIAN_ONLY:
        return ("ru",)
    return ("uk", "ru")


@functools.lru_cache(maxsize=50_000)
def forms(word: str) -> frozenset[str]:
    """Every form of a Ukrainian or Russian word written in its dictionary form, folded.

    The readings kept are those where the word is nominative (how a term is written), nouns
    first: "Зеленський" the surname, not the adjective whose feminine is another person. An
    adjective keeps its gender ("Запорізька АЕС": feminine and plural forms)."""
    word = fold(word)
    parses = [p for language in _languages(word) for p in _analyzer(language).parse(word)]
    readings = [p for p in parses if p.is_known] or parses
    nominative = [p for p in readings if "nomn" in p.tag or p.tag.POS in ("ADJS", "INFN", "ADVB", "PRED")]
    nouns = [p for p in nominative if p.tag.POS == "NOUN"]
    result = {word}
    for parse in nouns or nominative or readings:
        result.update(_paradigm(parse))
    return frozenset(result)


def _paradigm(parse: Any) -> Iterable[str]:
    gender = parse.tag.gender if parse.tag.POS in _DECLINABLE_MODIFIERS else None
    for form in parse.lexeme:
        if gender is not None and form.tag.gender not in (None, gender):
            continue
        yield fold(form.word)


def release_dictionaries() -> None:
    """Let the morphological dictionaries go once every term is expanded (a crawl needs them
    no more): 23 MiB of the crawl process back."""
    _analyzer.cache_clear()
    forms.cache_clear()
