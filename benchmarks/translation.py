"""Translation stage throughput against a loopback provider with a fixed latency per call.

Usage: python benchmarks/translation.py [--articles 100] [--latency 0.2] [--concurrency 4] [--provider google]

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
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.state import StateDB  # noqa: E402
from crawler.translation import ProviderOptions, provider_class  # noqa: E402
from crawler.translation.service import TranslationService  # noqa: E402
from tests.site.translators import FakeTranslator  # noqa: E402

PATHS = {"google": "/m", "libre": "", "deepl": ""}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--provider", default="google", choices=sorted(PATHS))
    args = parser.parse_args()
    items = articles(args.corpus, args.articles)
    with FakeTranslator(latency=args.latency) as fake, tempfile.TemporaryDirectory() as tmp:
        rows = []
        for run in ("first", "second"):
            provider = provider_class(args.provider)(
                ProviderOptions(url=fake.url(PATHS[args.provider]), api_key="k", timeout=30)
            )
            service = TranslationService(
                provider, concurrency=args.concurrency, timeout=30, cache=StateDB(Path(tmp) / "state.db")
            )
            before_calls, before_texts = fake.calls, len(fake.texts)
            started = time.perf_counter()
            outcomes = asyncio.run(run_all(service, items))
            wall = time.perf_counter() - started
            service.close()
            failed = sum(1 for o in outcomes if not o.ok)  # type: ignore[attr-defined]
            calls = fake.calls - before_calls
            texts = fake.texts[before_texts:]
            rows.append((run, calls, wall, failed, texts))
        budget = provider.max_chars
        _first_run, calls, wall, failed, texts = rows[0]
        chars = sum(len(t) for t in texts)
        ideal = calls * args.latency / args.concurrency
        long_items = [fields for _, fields in items if len(fields["text"] or "") >= 3 * budget]
        total = sum(len(f["text"] or "") for _, f in items)
        print(f"provider {args.provider} (budget {budget} characters/call), latency {args.latency} s, ", end="")
        print(f"concurrency {args.concurrency}; {len(items)} articles, {total} characters of text, {failed} failed")
        print("| run | calls | calls/article | chars/call | fill of budget | wall s | ideal s | wall/ideal |")
        print("|---|---|---|---|---|---|---|---|")
        per_call = chars / calls if calls else 0
        ratio = wall / ideal if ideal else 0
        fill = 100 * per_call / budget
        cells = [
            calls,
            f"{calls / len(items):.2f}",
            f"{per_call:.0f}",
            f"{fill:.0f}%",
            f"{wall:.2f}",
            f"{ideal:.2f}",
            f"{ratio:.3f}",
        ]
        print("| first | " + " | ".join(map(str, cells)) + " |")
        _, calls2, wall2, _failed2, _ = rows[1]
        print(f"| second (cache) | {calls2} | {calls2 / len(items):.2f} | – | – | {wall2:.2f} | 0 | – |")
        # Long articles alone, fresh cache, to see how full their calls are.
        provider = provider_class(args.provider)(
            ProviderOptions(url=fake.url(PATHS[args.provider]), api_key="k", timeout=30)
        )
        service = TranslationService(provider, concurrency=args.concurrency, timeout=30)
        start_texts = len(fake.texts)
        asyncio.run(run_all(service, [("ru", f) for f in long_items]))
        service.close()
        long_texts = fake.texts[start_texts:]
        if long_texts:
            fill = sum(map(len, long_texts)) / len(long_texts)
            print(f"long articles (>= {3 * budget} characters): {len(long_items)}, {len(long_texts)} calls, ", end="")
            print(f"{fill:.0f} characters/call = {100 * fill / budget:.0f}% of the budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
