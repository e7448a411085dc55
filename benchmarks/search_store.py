"""Search over a large state (used by benchmarks/watchlists.py --only search).

``stored`` articles go into a fresh SQLite state through the delivery's own ``apply`` (their
records as evidence rows, as a crawl writes them): the corpus's Ukrainian and Russian news texts,
with the English news bodies as their translations, recombined (each article the paragraphs of
two texts, in turn), over 25 sources and 200 days. Then each query is timed as ``scrapy sources
search`` runs it (candidates, confirmation, snippets; 20 results), the median of 5 runs.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.watchlists import texts
from crawler.output.search import search
from crawler.state.rows import encode_record
from crawler.state.sqlite_store import SqliteReader, StateDB
from crawler.watch.search_query import parse_query

QUERIES = [
    ("a name in every form", "Порошенко", {}),
    ("an inflected place", "Києві", {}),
    ("a phrase", '"Верховна Рада"', {}),
    ("a common word, one source", "україна", {"sources": ("s3",)}),
    ("two words, last 30 days", "газ ціна", {"since": "30d"}),
    ("English words", "nuclear plant", {}),
    ("a rare word", "Енергоатом", {}),
    ("excluded word", '"российская федерация" -сша', {}),
]


def _records(corpus: Path, count: int, rng: random.Random) -> list[dict]:
    originals = [(t, "uk") for t in texts(corpus, "uk")[:298]] + [(t, "ru") for t in texts(corpus, "ru")[:255]]
    english_path = corpus / "langid/en-news-documents.en.jsonl"
    english = [json.loads(line)["text"] for line in english_path.open(encoding="utf-8")]
    start = time.time() - 200 * 86400
    records = []
    for number in range(count):
        (first, language), (second, _) = originals[number % len(originals)], rng.choice(originals)
        text = "\n".join(first.splitlines()[:6] + second.splitlines()[:4])
        title = first.split(".", 1)[0][:120]
        records.append({
            "id": f"a{number:07d}", "source": f"s{number % 25}",
            "canonical_url": f"https://s{number % 25}.example/{number}",
            "language": language, "title": title, "summary": None, "text": text,
            "title_en": english[number % len(english)][:100], "text_en": english[number % len(english)],
            "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + number * 200 * 86400 / count)),
            "revision": 1, "story_id": f"a{number:07d}", "watchlists": [],
        })  # fmt: skip
    return records


def _fill(path: Path, records: list[dict]) -> float:
    db = StateDB(path)
    began = time.perf_counter()
    for offset in range(0, len(records), 2000):
        batch = records[offset : offset + 2000]
        db.apply({
            "now": int(time.time()), "touched": [], "urls": [],
            "articles": [{"id": r["id"], "source": r["source"], "canonical_url": r["canonical_url"],
                          "content_hash": "h", "revision": 1, "translation_status": "translated",
                          "retry_record": None} for r in batch],
            "evidence": [{"id": r["id"], "source": r["source"], "url": r["canonical_url"],
                          "record": encode_record(json.dumps(r, ensure_ascii=False))} for r in batch],
        })  # fmt: skip
    seconds = time.perf_counter() - began
    db.close()
    return seconds


def search_benchmark(corpus: Path, stored: int) -> None:
    rng = random.Random(11)
    records = _records(corpus, stored, rng)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.sqlite3"
        seconds = _fill(path, records)
        size = sum(f.stat().st_size for f in Path(directory).iterdir())
        text_bytes = sum(len((r["title"] + r["text"] + r["title_en"] + r["text_en"]).encode()) for r in records)
        print(f"\nSearch: {stored:,} articles written in {seconds:.1f} s ({seconds / stored * 1000:.2f} ms each, "
              f"in the delivery's transaction); state file {size / 2**20:,.0f} MiB "
              f"(texts {text_bytes / 2**20:,.0f} MiB)")  # fmt: skip
        reader = SqliteReader(path)
        print(f"  {'query':<28}{'text':<32}{'hits':>6}{'median ms':>11}{'max ms':>9}")
        for label, text, filters in QUERIES:
            since = filters.get("since")
            options = {k: v for k, v in filters.items() if k != "since"}
            if since:
                options["since"] = time.time() - int(str(since)[:-1]) * 86400
            times, hits = [], []
            for _ in range(5):
                query = parse_query(text, **options)  # type: ignore[arg-type]
                began = time.perf_counter()
                hits = search(reader, query)
                times.append((time.perf_counter() - began) * 1000)
            print(f"  {label:<28}{text:<32}{len(hits):>6}{statistics.median(times):>11.1f}{max(times):>9.1f}")
        reader.close()
