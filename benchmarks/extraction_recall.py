"""Extraction recall: trafilatura's fast mode alone, against the full cascade where fast looks wrong.

Usage: python benchmarks/extraction_recall.py [--corpus ../shared/corpus]

Every corpus page with a whole-text ground truth (tests/site/corpus.py,
``text_truth_pages``: Zyte AEB, fundus, newspaper4k, Mozilla Readability,
lenta.ru; 551 pages) is extracted four ways:

* ``fast only`` — crawler.parsing.article with its fallback switched off (the crawler before this change);
* ``crawler`` — as shipped: fast pass, full cascade where the fast text is doubtful;
* ``full everywhere`` — crawler.parsing.article with the full cascade tried on every page;
* ``trafilatura fallbacks`` — ``trafilatura.extract(fast=False, include_comments=False)``.

It prints mean token F1 per collection, pages refused as no article, pages
rescued (refused or F1 < 0.5 before, F1 >= 0.5 after), and CPU milliseconds
per page (process time, one process), plus the trafilatura-eval snippet
checks (share of "with" snippets found and "without" snippets absent).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler.parsing import article as extraction  # noqa: E402
from crawler.parsing.article import Article, ExtractionOptions, extract_article  # noqa: E402
from crawler.parsing.encoding import decode_html  # noqa: E402
from tests.site.corpus import token_f1  # noqa: E402

MODES = ("fast only", "crawler", "full everywhere", "trafilatura fallbacks")


def extract(mode: str, html: bytes, url: str) -> str | None:
    """The text one mode gives, or None when the page is refused."""
    if mode == "trafilatura fallbacks":
        text, _ = decode_html(html)
        return trafilatura.extract(text, url=url, fast=False, include_comments=False) or None
    doubtful = extraction._doubtful
    if mode == "fast only":
        extraction._doubtful = lambda text, tree: False  # type: ignore[assignment]
    elif mode == "full everywhere":
        extraction._doubtful = lambda text, tree: True  # type: ignore[assignment]
    try:
        result = extract_article(html, ExtractionOptions(url=url))
    finally:
        extraction._doubtful = doubtful  # type: ignore[assignment]
    return result.text if isinstance(result, Article) else None


def text_table(pages: list) -> None:
    scores: dict[str, dict[str, list[float]]] = {mode: defaultdict(list) for mode in MODES}
    refused = Counter()
    cpu = Counter()
    per_page: dict[str, list[float]] = defaultdict(list)
    for page in pages:
        for mode in MODES:
            started = time.process_time()
            text = extract(mode, page.html, page.url)
            cpu[mode] += time.process_time() - started
            refused[mode] += text is None
            score = token_f1(text or "", page.text)
            scores[mode][page.collection].append(score)
            per_page[mode].append(score)
    collections = sorted({page.collection for page in pages})
    print(f"Text F1 on {len(pages)} corpus pages with ground truth:")
    print(
        "| mode | mean F1 | "
        + " | ".join(f"{c} ({len(scores[MODES[0]][c])})" for c in collections)
        + " | refused | CPU ms/page |"
    )
    print("|---" * (len(collections) + 4) + "|")
    for mode in MODES:
        everything = [s for c in collections for s in scores[mode][c]]
        cells = " | ".join(f"{sum(scores[mode][c]) / len(scores[mode][c]):.4f}" for c in collections)
        mean_f1, milliseconds = sum(everything) / len(everything), 1000 * cpu[mode] / len(pages)
        print(f"| {mode} | {mean_f1:.4f} | {cells} | {refused[mode]} | {milliseconds:.1f} |")
    before, after = per_page["fast only"], per_page["crawler"]
    rescued = sum(b < 0.5 <= a for b, a in zip(before, after, strict=True))
    worse = sum(a < 0.5 <= b for b, a in zip(before, after, strict=True))
    changed = sum(abs(a - b) > 1e-9 for b, a in zip(before, after, strict=True))
    print(f"\ncrawler against fast only: {changed} pages changed, {rescued} rescued (F1 < 0.5 -> >= 0.5), {worse} lost")


def tally_snippets(counts: list[int], expected: dict, text: str) -> None:
    """Add one page's trafilatura-eval checks to ``counts``: "with" snippets found, "with"
    total, "without" snippets absent, "without" total."""
    for snippet in expected.get("with") or []:
        counts[0] += snippet in text
        counts[1] += 1
    for snippet in expected.get("without") or []:
        counts[2] += snippet not in text
        counts[3] += 1


def snippets(corpus: Path) -> None:
    base = corpus / "articles" / "trafilatura-eval"
    truth = json.loads((base / "evaldata.subset.json").read_text(encoding="utf-8"))
    found = {mode: [0, 0, 0, 0] for mode in MODES[:3]}  # with found, with total, without absent, without total
    for url, expected in sorted(truth.items()):
        path = base / "html" / f"{expected['file']}.gz"
        if not path.exists():
            continue
        html = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for mode in MODES[:3]:
            text = extract(mode, html, url) or ""
            tally_snippets(found[mode], expected, text)
    print("\ntrafilatura-eval snippets:")
    print("| mode | 'with' snippets found | 'without' snippets absent |")
    print("|---|---|---|")
    for mode, (hit, total, absent, total_without) in found.items():
        found_share, absent_share = 100 * hit / total, 100 * absent / total_without
        print(f"| {mode} | {hit}/{total} = {found_share:.1f}% | {absent}/{total_without} = {absent_share:.1f}% |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    os.environ["SOURCES_CRAWLER_CORPUS"] = str(args.corpus)
    from tests.site.corpus import text_truth_pages

    if not (args.corpus / "articles").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    extraction.warm_up()
    text_table(text_truth_pages())
    snippets(args.corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
