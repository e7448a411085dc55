"""Language-identification accuracy on the shared corpus.

Usage: python benchmarks/language_accuracy.py [--corpus ../shared/corpus]

Prints accuracy (%) for uk, ru, be, bg, mk, sr, kk and en on lingua's sentences, word pairs
and single words, and on the long news texts (uk, ru, en). The be/bg/mk/sr/kk word lists are
what crawler/parsing/cyrillic_profiles.py is built from, so only their sentences are held out.
Methods: plain seeded langdetect and crawler.parsing.language.detect_language without a hint,
with the right hint, and with a misleading hint (uk<->ru swapped, en given "uk").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory  # noqa: E402
from langdetect.lang_detect_exception import LangDetectException  # noqa: E402

from crawler.parsing.language import detect_language  # noqa: E402

LANGS = ("uk", "ru", "be", "bg", "mk", "sr", "kk", "en")
WRONG_HINT = {"uk": "ru", "ru": "uk", "en": "uk", "be": "ru", "bg": "ru", "mk": "sr", "sr": "mk", "kk": "ru"}
LONG_FILES = {
    "uk": "ner-uk-ng-texts.uk.jsonl",
    "ru": "factRuEval-2016-texts.ru.jsonl",
    "en": "en-news-documents.en.jsonl",
}


def plain_langdetect():
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)

    def detect(text: str) -> str:
        detector = factory.create()
        detector.append(text)
        try:
            return detector.detect()
        except LangDetectException:
            return "unknown"

    return detect


def samples(corpus: Path, lang: str, kind: str) -> list[str]:
    if kind == "long texts" and lang not in LONG_FILES:
        return []
    if kind == "long texts":
        path = corpus / "langid" / LONG_FILES[lang]
        return [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    path = corpus / "langid" / "lingua-testdata" / lang / f"{kind}.txt"
    return [line.strip() for line in path.open(encoding="utf-8") if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--kinds", default="sentences,word-pairs,single-words,long texts")
    args = parser.parse_args()
    if not (args.corpus / "langid").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2

    plain = plain_langdetect()
    methods = {
        "langdetect": lambda text, lang: plain(text),
        "ours, no hint": lambda text, lang: detect_language(text).language,
        "ours, right hint": lambda text, lang: detect_language(text, lang).language,
        "ours, wrong hint": lambda text, lang: detect_language(text, WRONG_HINT[lang]).language,
    }
    kinds = args.kinds.split(",")
    header = f"| {'data':<13} | {'method':<17} | " + " | ".join(f"{lang:>7}" for lang in LANGS) + " |"
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    started = time.perf_counter()
    calls = 0
    for kind in kinds:
        data = {lang: samples(args.corpus, lang, kind) for lang in LANGS}
        for name, method in methods.items():
            cells = []
            for lang in LANGS:
                texts = data[lang]
                if not texts:
                    cells.append(f"{'-':>7}")
                    continue
                right = sum(1 for text in texts if method(text, lang) == lang)
                calls += len(texts)
                cells.append(f"{100 * right / len(texts):6.2f}%")
            print(f"| {kind:<13} | {name:<17} | " + " | ".join(cells) + " |")
    elapsed = time.perf_counter() - started
    print(f"\n{calls} detections in {elapsed:.1f} s ({1000 * elapsed / calls:.2f} ms each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
