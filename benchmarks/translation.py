"""Translation stage throughput against a loopback provider with a fixed latency per call.

Usage: python benchmarks/translation.py [--articles 100] [--latency 0.2] [--concurrency 4] [--provider google]
       [--batch-wait 0.2]

Each measurement is made twice: packing per article (TRANSLATION_BATCH_WAIT=0, as before
cross-article packing) and across articles; for all articles, again from the cache, short
articles only and long articles only.

Translates N Ukrainian and Russian news texts from ../shared/corpus/langid through
the real stage (chunking, cache, concurrency limit, HTTP) against a loopback server
that answers every call after L seconds. Prints wall time against the ideal
(calls x L / concurrency), calls per article, characters per call against the
provider's budget (all articles, and long ones only), and calls on a second run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.state.sqlite_store import StateDB  # noqa: E402
from crawler.translation import ProviderOptions, provider_class  # noqa: E402
from crawler.translation.service import ServiceConfig, TranslationService  # noqa: E402
from tests.site.translators import PROVIDER_PATHS, FakeTranslator  # noqa: E402


def articles(corpus: Path, count: int) -> list[tuple[str, dict[str, str | None]]]:
    langid = corpus / "langid"
    uk = [json.loads(line)["text"] for line in (langid / "ner-uk-ng-texts.uk.jsonl").open(encoding="utf-8")]
    ru = [json.loads(line)["text"] for line in (langid / "factRuEval-2016-texts.ru.jsonl").open(encoding="utf-8")]
    ru = [text for text in ru if not text.startswith("book_")]
    picked: list[tuple[str, dict[str, str | None]]] = []
    for i in range(count):
        language, texts = ("uk", uk) if i % 2 == 0 else ("ru", ru)
        text = texts[(i // 2) % len(texts)]
        title = text.split("\n", 1)[0][:120]
        picked.append((language, {"title": title, "summary": None, "text": text}))
    return picked


async def run_all(service: TranslationService, items: list[tuple[str, dict[str, str | None]]]) -> list[object]:
    return await asyncio.gather(*(service.translate(fields, language, "en") for language, fields in items))


def serve(latency: float, urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """The stand-in provider, in its own process so it does not compete for our GIL."""
    with FakeTranslator(latency=latency) as fake:
        urls.put(fake.url(""))
        stop.wait()


def measure(
    args: argparse.Namespace, url: str, items: list[tuple[str, dict[str, str | None]]], cache: StateDB | None
) -> tuple[Counter, float, int, int]:
    counts: Counter = Counter()
    provider = provider_class(args.provider)(
        ProviderOptions(url=url + PROVIDER_PATHS[args.provider], api_key="k", timeout=30)
    )
    config = ServiceConfig(
        concurrency=args.concurrency, timeout=30, batch_wait=getattr(args, "batch_wait_now", args.batch_wait)
    )
    service = TranslationService(provider, config, cache=cache, stats=lambda key, n: counts.update({key: n}))
    started = time.perf_counter()
    outcomes = asyncio.run(run_all(service, items))
    wall = time.perf_counter() - started
    service.close()
    return counts, wall, sum(1 for o in outcomes if not o.ok), provider.max_chars  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--provider", default="google", choices=sorted(PROVIDER_PATHS))
    parser.add_argument(
        "--batch-wait", type=float, default=0.2,
        help="TRANSLATION_BATCH_WAIT of the 'across articles' rows (the 'per article' rows use 0, as before)",
    )  # fmt: skip
    args = parser.parse_args()
    items = articles(args.corpus, args.articles)
    urls: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.latency, urls, stop), daemon=True)
    server.start()
    url = urls.get(timeout=30)
    rows: list[list[str]] = []
    try:
        # Before (each article's pieces in calls of their own) and after (shared across articles).
        for label, wait in (("per article", 0.0), (f"across articles ({args.batch_wait} s)", args.batch_wait)):
            args.batch_wait_now = wait
            rows += mix_rows(args, url, items, label)
    finally:
        stop.set()
        server.join(timeout=5)
    total = sum(len(f["text"] or "") for _, f in items)
    print(f"provider {args.provider}, latency {args.latency} s, concurrency {args.concurrency}; ", end="")
    print(f"{len(items)} articles, {total} characters of text")
    print(
        "| packing | articles | calls | calls/article | chars/call | fill of budget | wall s | ideal s | wall/ideal |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


def mix_rows(
    args: argparse.Namespace, url: str, items: list[tuple[str, dict[str, str | None]]], label: str
) -> list[list[str]]:
    """All articles (then again, from the cache), short ones only and long ones only."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = StateDB(Path(tmp) / "state.db")
        first, wall, failed, budget = measure(args, url, items, cache)
        second, wall2, _, _ = measure(args, url, items, cache)
    rows.append(_row(label, "all", len(items), first, wall, budget, args))
    rows.append([label, f"all, again: {len(items)}", str(second["translation/calls"]), "–", "–", "–",
                 f"{wall2:.2f}", "0", "–"])  # fmt: skip
    for name, subset in (
        (f"short (< {budget} chars)", [i for i in items if len(i[1]["text"] or "") < budget]),
        (f"long (>= {3 * budget} chars)", [i for i in items if len(i[1]["text"] or "") >= 3 * budget]),
    ):
        if subset:
            counts, wall, _, _ = measure(args, url, subset, None)
            rows.append(_row(label, name, len(subset), counts, wall, budget, args))
    if failed:
        rows.append([label, f"{failed} FAILED", "", "", "", "", "", "", "", ""])
    return rows


def _row(
    label: str, name: str, count: int, counts: Counter, wall: float, budget: int, args: argparse.Namespace
) -> list[str]:
    calls, chars = counts["translation/calls"], counts["translation/chars"]
    ideal = calls * args.latency / args.concurrency
    per_call = chars / calls if calls else 0
    return [
        label, f"{name}: {count}", str(calls), f"{calls / count:.2f}", f"{per_call:.0f}",
        f"{100 * per_call / budget:.0f}%", f"{wall:.2f}", f"{ideal:.2f}", f"{wall / ideal if ideal else 0:.3f}",
    ]  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
