"""Extraction settings against trafilatura's own, on every corpus page with ground truth.

Usage: python benchmarks/extraction_settings.py [--corpus ../shared/corpus] [--only NAME,...]

Pages are grouped by the language of their ground-truth text (our detector on the truth,
so a page's own markup cannot mislead it): all, Russian, Ukrainian, other. Each setting is
scored by mean token F1 of the main text; a page refused or empty scores 0. Settings:

* ``crawler`` — crawler.parsing.article as shipped (trafilatura's precision mode on pages in
  a Cyrillic language, its fast mode elsewhere, the full cascade where the text looks wrong);
* ``crawler, precision nowhere`` / ``everywhere`` — the same with precision mode on no page,
  or on every page;
* ``trafilatura …`` — ``trafilatura.extract`` on the decoded page: defaults; fast; with
  fallbacks; ``favor_recall``; ``favor_precision``; comments off except for the defaults.

CPU milliseconds per page are process time in this one process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from benchmarks.extraction_recall import tally_snippets  # noqa: E402
from crawler.parsing import article as extraction  # noqa: E402
from crawler.parsing.article import Article, ExtractionOptions, extract_article  # noqa: E402
from crawler.parsing.encoding import decode_html  # noqa: E402
from crawler.parsing.language import detect_language  # noqa: E402
from tests.site.corpus import token_f1  # noqa: E402


def _crawler(precise: bool | None) -> Callable[[bytes, str], str | None]:
    """As shipped (None), or with trafilatura's precision mode on every page or on none."""

    def run(html: bytes, url: str) -> str | None:
        chooser = extraction._favours_precision
        if precise is not None:
            extraction._favours_precision = lambda tree, hint: precise  # type: ignore[assignment]
        try:
            result = extract_article(html, ExtractionOptions(url=url, fingerprint=False))
        finally:
            extraction._favours_precision = chooser  # type: ignore[assignment]
        return result.text if isinstance(result, Article) else None

    return run


def _trafilatura(**options: object) -> Callable[[bytes, str], str | None]:
    def run(html: bytes, url: str) -> str | None:
        text, _ = decode_html(html)
        return trafilatura.extract(text, url=url, **options) or None  # type: ignore[arg-type]

    return run


SETTINGS: dict[str, Callable[[bytes, str], str | None]] = {
    "crawler": _crawler(None),
    "crawler, precision nowhere": _crawler(False),
    "crawler, precision everywhere": _crawler(True),
    "trafilatura defaults": _trafilatura(),
    "trafilatura fast": _trafilatura(fast=True, include_comments=False),
    "trafilatura fallbacks": _trafilatura(fast=False, include_comments=False),
    "trafilatura favor_recall": _trafilatura(favor_recall=True, include_comments=False),
    "trafilatura favor_precision": _trafilatura(favor_precision=True, include_comments=False),
}


def group(truth: str) -> str:
    language = detect_language(truth[:3000]).language
    return {"ru": "ru", "uk": "uk"}.get(language, "other")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--only", default="", help="comma-separated setting names")
    parser.add_argument("--snippets-only", action="store_true", help="only the trafilatura-eval snippet table")
    args = parser.parse_args()
    os.environ["SOURCES_CRAWLER_CORPUS"] = str(args.corpus)
    from tests.site.corpus import text_truth_pages

    chosen = [name for name in SETTINGS if not args.only or name in args.only.split(",")]
    extraction.warm_up()
    if args.snippets_only:
        snippets(args.corpus, chosen)
        return 0
    pages = text_truth_pages()
    groups = [group(page.text) for page in pages]
    scores: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in chosen}
    cpu: dict[str, float] = defaultdict(float)
    refused: dict[str, int] = defaultdict(int)
    for page, language in zip(pages, groups, strict=True):
        for name in chosen:
            started = time.process_time()
            text = SETTINGS[name](page.html, page.url)
            cpu[name] += time.process_time() - started
            refused[name] += not text
            score = token_f1(text or "", page.text)
            scores[name]["all"].append(score)
            scores[name][language].append(score)
    columns = ["all", "ru", "uk", "other"]
    counts = {column: len(scores[chosen[0]][column]) for column in columns}
    print(f"Mean token F1 of the main text, {len(pages)} corpus pages with ground truth:\n")
    print("| setting | " + " | ".join(f"{c} ({counts[c]})" for c in columns) + " | refused | CPU ms/page |")
    print("|---" * (len(columns) + 3) + "|")
    for name in chosen:
        cells = [f"{sum(scores[name][c]) / max(len(scores[name][c]), 1):.4f}" for c in columns]
        print(f"| {name} | " + " | ".join(cells) + f" | {refused[name]} | {1000 * cpu[name] / len(pages):.1f} |")
    snippets(args.corpus, chosen)
    return 0


def snippets(corpus: Path, chosen: list[str]) -> None:
    """trafilatura's own evaluation pages: the share of "with" snippets (article text) found
    and of "without" snippets (boilerplate: related links, comments, footers) kept out."""
    import gzip
    import json

    base = corpus / "articles" / "trafilatura-eval"
    truth = json.loads((base / "evaldata.subset.json").read_text(encoding="utf-8"))
    counts: dict[str, dict[str, list[int]]] = {name: defaultdict(lambda: [0, 0, 0, 0]) for name in chosen}
    pages: dict[str, int] = defaultdict(int)
    for url, expected in sorted(truth.items()):
        path = base / "html" / f"{expected['file']}.gz"
        if not path.exists():
            continue
        html = gzip.decompress(path.read_bytes())
        language = group(" ".join(expected.get("with") or []) or "x")
        pages["all"] += 1
        pages[language] += 1
        for name in chosen:
            text = SETTINGS[name](html, url) or ""
            for column in ("all", language):
                tally_snippets(counts[name][column], expected, text)
    columns = ["all", "ru", "uk", "other"]
    print(f"\ntrafilatura-eval snippets ({pages['all']} pages): 'with' found / 'without' kept out, %\n")
    print("| setting | " + " | ".join(f"{c} ({pages[c]})" for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in chosen:
        cells = []
        for column in columns:
            found, total, absent, total_without = counts[name][column]
            cells.append(f"{100 * found / max(total, 1):.1f} / {100 * absent / max(total_without, 1):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
