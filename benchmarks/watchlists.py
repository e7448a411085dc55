"""Watchlist matching and search: precision and recall on inflected Ukrainian and Russian
sentences, the cost per article, and a search over a large store.

    python benchmarks/watchlists.py [--corpus ../shared/corpus] [--only labelled,cost,search] [--stored 100000]

* **labelled**: the sentences of the corpus's Ukrainian and Russian news texts
  (``langid/ner-uk-ng-texts.uk.jsonl``, ``langid/factRuEval-2016-texts.ru.jsonl``, the WMT22/23
  sources) against one watchlist per term of ``benchmarks/data/watch_labels.json``. A sentence
  is about a term when it holds one of the term's hand-labelled forms (a phrase: its words'
  forms in a row); the matcher's answer is compared with that, per (sentence, term).
* **cost**: 100 watchlists of 10 terms (words and phrases drawn from the texts' own
  vocabulary) matched against whole corpus texts with an English side, per article.
* **search**: ``--stored`` articles (corpus texts, recombined) in a fresh SQLite state through
  the run delivery's own ``apply``; then queries (a name, an inflected word, a phrase, with
  filters), each timed as ``scrapy sources search`` runs it.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config.watchlists_file import Term, Watchlist  # noqa: E402
from crawler.watch.matcher import Article, Matcher  # noqa: E402
from crawler.watch.words import tokens  # noqa: E402

LABELS = ROOT / "benchmarks" / "data" / "watch_labels.json"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"(]?[A-ZА-ЯЁІЇЄҐ0-9])|\n+")


def texts(corpus: Path, language: str) -> list[str]:
    name = {"uk": "langid/ner-uk-ng-texts.uk.jsonl", "ru": "langid/factRuEval-2016-texts.ru.jsonl"}[language]
    with (corpus / name).open(encoding="utf-8") as lines:
        found = [json.loads(line)["text"] for line in lines]
    for path in sorted(glob.glob(str(corpus / f"parallel/wmt2*-general/{language}-en/*.src.{language}"))):
        found += [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return found


def sentences(corpus: Path, language: str) -> list[str]:
    return [s.strip() for text in texts(corpus, language) for s in _SENTENCE_END.split(text) if len(s.strip()) > 20]


def _about(words: list[str], word_forms: list[set[str]]) -> bool:
    n = len(word_forms)
    return any(all(words[i + j] in word_forms[j] for j in range(n)) for i in range(len(words) - n + 1))


def labelled(corpus: Path) -> None:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    print("Labelled sentences (hand-labelled forms; one watchlist per term)")
    print(f"{'language':<9}{'sentences':>10}{'terms':>7}{'about':>7}{'matched':>9}{'TP':>6}{'FP':>5}{'FN':>5}"
          f"{'precision':>11}{'recall':>8}")  # fmt: skip
    for language in ("uk", "ru"):
        terms = {term: [set(forms) for forms in words] for term, words in labels[language].items()}
        watchlists = tuple(Watchlist(f"w{i}", terms=(Term(term),)) for i, term in enumerate(terms))
        matcher = Matcher(watchlists)
        pool = sentences(corpus, language)
        tp = fp = fn = about_total = matched_total = 0
        misses: list[str] = []
        for sentence in pool:
            words = tokens(sentence)
            gold = {f"w{i}" for i, forms in enumerate(terms.values()) if _about(words, forms)}
            found = {match.watchlist for match in matcher.match(Article("s", language, (sentence,)))}
            tp, fp, fn = tp + len(gold & found), fp + len(found - gold), fn + len(gold - found)
            about_total, matched_total = about_total + len(gold), matched_total + len(found)
            for name in (gold ^ found) - set(misses):
                misses.append(f"  {'FP' if name in found else 'FN'} {list(terms)[int(name[1:])]}: {sentence[:110]}")
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(f"{language:<9}{len(pool):>10}{len(terms):>7}{about_total:>7}{matched_total:>9}{tp:>6}{fp:>5}{fn:>5}"
              f"{precision:>11.3f}{recall:>8.3f}")  # fmt: skip
        for line in misses[:8]:
            print(line)


def _workload(corpus: Path, rng: random.Random) -> tuple[tuple[Watchlist, ...], list[Article]]:
    """100 watchlists of 10 terms (7 words, 3 two-word phrases) from the texts' own words."""
    uk, ru = texts(corpus, "uk"), texts(corpus, "ru")
    en_path = corpus / "langid/en-news-documents.en.jsonl"
    english = [json.loads(line)["text"] for line in en_path.open(encoding="utf-8")]
    vocabulary = sorted({w for text in uk[:300] + ru[:300] for w in tokens(text) if len(w) > 5 and w.isalpha()})
    watchlists = []
    for i in range(100):
        words = [Term(w) for w in rng.sample(vocabulary, 7)]
        phrases = [Term(" ".join(rng.sample(vocabulary, 2))) for _ in range(3)]
        watchlists.append(Watchlist(f"w{i}", terms=tuple(words + phrases)))
    documents = [t for t in uk[:298] + ru[:255] if len(t) > 1000]
    articles = [
        Article("s", "uk", (doc[:120], doc[:300], doc), (en[:100], en[:300], en))
        for doc, en in zip(documents, english * 4, strict=False)
    ]
    return tuple(watchlists), articles


def cost(corpus: Path) -> None:
    rng = random.Random(7)
    start = time.perf_counter()
    watchlists, articles = _workload(corpus, rng)
    matcher = Matcher(watchlists)
    compiled = time.perf_counter() - start
    for article in articles:  # warm: the stemmer's cache, as after a crawl's first pages
        matcher.match(article)
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        matched = sum(len(matcher.match(article)) for article in articles)
        rounds.append((time.perf_counter() - t0) / len(articles) * 1000)
    chars = statistics.mean(sum(map(len, a.original + a.english)) for a in articles)
    print(f"\nCost: 100 watchlists x 10 terms ({len(matcher.patterns)} patterns), compiled in {compiled:.2f} s")
    print(f"  {len(articles)} articles, {chars:,.0f} characters each (original and English): "
          f"{statistics.median(rounds):.3f} ms per article (median of 5 rounds; min {min(rounds):.3f}), "
          f"{matched} matches a round")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--only", default="labelled,cost,search")
    parser.add_argument("--stored", type=int, default=100_000)
    args = parser.parse_args()
    if not (args.corpus / "langid").is_dir():
        sys.exit(f"no corpus at {args.corpus} (see ../shared/corpus/SOURCES.md)")
    parts = set(args.only.split(","))
    if "labelled" in parts:
        labelled(args.corpus)
    if "cost" in parts:
        cost(args.corpus)
    if "search" in parts:
        from benchmarks.search_store import search_benchmark

        search_benchmark(args.corpus, args.stored)


if __name__ == "__main__":
    main()
