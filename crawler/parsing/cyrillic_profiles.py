"""Character n-gram profiles of the Cyrillic-script languages, for the languages langdetect
has no profile of (Belarusian, Serbian, Kazakh) and as a second opinion for those it has.

The profiles ship as data (``data/cyrillic_ngrams.json``). Rebuild them with

    python -m crawler.parsing.cyrillic_profiles --corpus ../shared/corpus

which reads the single words and word pairs of lingua's test data (github.com/pemistahl/lingua-rs,
Apache License 2.0; the same licence applies to the derived counts). Its sentences are not
read: they are what benchmarks/language_accuracy.py measures on."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from functools import cache
from pathlib import Path

__all__ = ["LANGUAGES", "ngram_loglik"]

LANGUAGES = ("uk", "ru", "be", "bg", "mk", "sr", "kk")
DATA = Path(__file__).with_name("data") / "cyrillic_ngrams.json"
_MAX_N = 3
_KEEP = 4000  # most frequent n-grams kept per language and order
_WORD = re.compile(r"[^\W\d_]+")


def _grams(word: str) -> list[str]:
    padded = f" {word} "
    return [
        padded[i : i + n] for n in range(1, _MAX_N + 1) for i in range(len(padded) - n + 1) if padded[i : i + n] != " "
    ]


def build(texts: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    profiles = {}
    for lang, lines in texts.items():
        counts: Counter[str] = Counter()
        for line in lines:
            for word in _WORD.findall(line.lower()):
                counts.update(_grams(word))
        kept: dict[str, int] = {}
        for n in range(1, _MAX_N + 1):
            kept.update(Counter({g: c for g, c in counts.items() if len(g) == n}).most_common(_KEEP))
        profiles[lang] = kept
    return profiles


@cache
def _model() -> dict[str, tuple[dict[str, float], list[float]]]:
    """Per language: log P(gram | language, order) and the log-probability of an unseen gram per order."""
    profiles = json.loads(DATA.read_text(encoding="utf-8"))
    model = {}
    for lang, counts in profiles.items():
        totals = [0] * (_MAX_N + 1)
        for gram, count in counts.items():
            totals[len(gram)] += count
        logp = {g: math.log((c + 0.5) / (totals[len(g)] + 0.5 * _KEEP)) for g, c in counts.items()}
        unseen = [math.log(0.5 / (total + 0.5 * _KEEP)) if total else -20.0 for total in totals]
        model[lang] = (logp, unseen)
    return model


def ngram_loglik(words: list[str]) -> dict[str, float]:
    """Log-likelihood per language of the words' trigrams (bigrams and letters at word edges)."""
    model = _model()
    grams = [g for word in words for g in _grams(word) if len(g) == _MAX_N or (len(g) > 1 and " " in g)]
    scores = {}
    for lang, (logp, unseen) in model.items():
        scores[lang] = sum(logp.get(g, unseen[len(g)]) for g in grams)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="../shared/corpus")
    args = parser.parse_args()
    base = Path(args.corpus) / "langid" / "lingua-testdata"
    texts = {}
    for lang in LANGUAGES:
        lines = []
        for kind in ("single-words", "word-pairs"):
            lines += (base / lang / f"{kind}.txt").read_text(encoding="utf-8").splitlines()
        texts[lang] = lines
    DATA.write_text(json.dumps(build(texts), ensure_ascii=False, sort_keys=True), encoding="utf-8")
    print(f"{DATA}: {', '.join(f'{lang} {len(texts[lang])} lines' for lang in LANGUAGES)}")


if __name__ == "__main__":
    main()
