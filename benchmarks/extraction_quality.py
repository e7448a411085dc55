"""Extraction quality on the shared corpus, ours against trafilatura's defaults.

Usage: python benchmarks/extraction_quality.py [--corpus ../shared/corpus]

* text: mean token F1 / precision / recall of ``text`` against the Zyte
  (scrapinghub) article-extraction benchmark ground truth, for
  crawler.parsing.article.extract_article and for ``trafilatura.extract(html)``
  with its default settings;
* title and publication date against fundus and newspaper4k ground truth;
* publication date against htmldate's Media Cloud set (uk/ru pages marked).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler.parsing.article import Article, ExtractionOptions, extract_article  # noqa: E402
from crawler.parsing.encoding import decode_html  # noqa: E402

TOKEN = re.compile(r"\w+")


def tokens(text: str) -> Counter[str]:
    return Counter(TOKEN.findall(text.lower()))


def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    p, t = tokens(predicted), tokens(truth)
    if not p or not t:
        return 0.0, 0.0, 0.0
    overlap = sum((p & t).values())
    precision, recall = overlap / sum(p.values()), overlap / sum(t.values())
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def read_html(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def text_f1(corpus: Path) -> None:
    base = corpus / "articles" / "scrapinghub-aeb"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    ours: list[tuple[float, float, float]] = []
    theirs: list[tuple[float, float, float]] = []
    rejected = 0
    started = time.perf_counter()
    for page_id, expected in sorted(truth.items()):
        body = read_html(base / "html" / f"{page_id}.html.gz")
        result = extract_article(body, ExtractionOptions(url=expected["url"]))
        if isinstance(result, Article):
            ours.append(prf(result.text, expected["articleBody"]))
        else:
            rejected += 1
            ours.append((0.0, 0.0, 0.0))
        html, _ = decode_html(body)
        theirs.append(prf(trafilatura.extract(html, url=expected["url"]) or "", expected["articleBody"]))
    elapsed = time.perf_counter() - started
    print(f"Text against Zyte AEB ground truth ({len(truth)} pages):")
    print("| extractor | F1 | precision | recall |")
    print("|---|---|---|---|")
    for name, rows in (("sources-crawler extract_article", ours), ("trafilatura.extract defaults", theirs)):
        f1, precision, recall = (mean([r[i] for r in rows]) for i in (2, 0, 1))
        print(f"| {name} | {f1:.4f} | {precision:.4f} | {recall:.4f} |")
    print(f"(ours rejected {rejected} page(s) as not an article; {elapsed:.1f} s for both)\n")


def same_title(a: str | None, b: str | None) -> bool:
    norm = lambda s: " ".join(TOKEN.findall((s or "").lower()))  # noqa: E731
    return bool(a) and norm(a) == norm(b)


def metadata(corpus: Path) -> None:
    articles = corpus / "articles"
    rows = []  # (collection, title ok, date ok, has_time)
    mapping = json.loads((articles / "fundus" / "html_to_version_mapping.json").read_text(encoding="utf-8"))
    for html_file, info in sorted(mapping.items()):
        expected = json.loads((articles / "fundus" / info["json"]).read_text(encoding="utf-8"))[info["version_key"]]
        result = extract_article(read_html(articles / "fundus" / html_file), ExtractionOptions(url=info["url"]))
        if not isinstance(result, Article):
            rows.append(("fundus", False, False, False))
            continue
        want_date = (expected.get("publishing_date") or "")[:10]
        rows.append(
            (
                "fundus",
                same_title(result.title, expected.get("title")),
                bool(want_date) and (result.published or "")[:10] == want_date,
                "T" in (result.published or ""),
            )
        )
    dataset = articles / "newspaper4k-article-extraction-dataset"
    truth = json.loads((dataset / "articles.subset.json").read_text(encoding="utf-8"))
    for key, expected in sorted(truth.items()):
        path = dataset / "html" / f"{key}.html.gz"
        if not path.exists():
            continue
        result = extract_article(read_html(path), ExtractionOptions(url=expected["url"]))
        if not isinstance(result, Article):
            rows.append(("newspaper4k", False, False, False))
            continue
        rows.append(
            (
                "newspaper4k",
                same_title(result.title, expected.get("title")),
                (result.published or "")[:10] == (expected.get("date") or "")[:10],
                "T" in (result.published or ""),
            )
        )
    print("Title and date against ground truth:")
    print("| collection | pages | title exact | date (day) right | date has time |")
    print("|---|---|---|---|---|")
    for collection in ("fundus", "newspaper4k"):
        subset = [r for r in rows if r[0] == collection]
        n = len(subset)
        title, day, has_time = (100 * sum(r[i] for r in subset) / n for i in (1, 2, 3))
        print(f"| {collection} | {n} | {title:.1f}% | {day:.1f}% | {has_time:.1f}% |")
    print()


def dates(corpus: Path) -> None:
    base = corpus / "articles" / "htmldate-mediacloud2020"
    truth = json.loads((base / "eval_mediacloud_2020.subset.json").read_text(encoding="utf-8"))
    right = total = 0
    cyr_right = cyr_total = 0
    for url, expected in sorted(truth.items()):
        if expected.get("date") in (None, "nan"):
            continue
        path = base / "test_set" / f"{expected['file']}.gz"
        if not path.exists():
            continue
        result = extract_article(read_html(path), ExtractionOptions(url=url))
        ok = isinstance(result, Article) and (result.published or "")[:10] == expected["date"]
        total += 1
        right += ok
        if isinstance(result, Article) and result.language in ("uk", "ru"):
            cyr_total += 1
            cyr_right += ok
    share = 100 * right / total
    print(f"Dates against htmldate Media Cloud 2020: {right}/{total} = {share:.1f}% (uk/ru: {cyr_right}/{cyr_total})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    if not (args.corpus / "articles").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    text_f1(args.corpus)
    metadata(args.corpus)
    dates(args.corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
