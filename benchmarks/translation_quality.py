"""Translation quality on WMT22 uk→en and ru→en (for users with a real provider or model).

Usage:
  pip install -e '.[quality]'        # sacrebleu
  python benchmarks/translation_quality.py --provider google [--limit 300]
  python benchmarks/translation_quality.py --provider deepl --api-key KEY
  python benchmarks/translation_quality.py --provider libre --url http://localhost:5000
  python benchmarks/translation_quality.py --provider ctranslate2 --model /models/opus-mt-tc-big-zle-en-ct2

Each segment of ../shared/corpus/parallel/wmt22-general is translated as one
paragraph through the same stage the crawler uses (chunking, retries, no cache),
and scored against the human reference with sacrebleu's chrF and BLEU, so
providers can be compared on the same sentences. Needs the network (or a model);
not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.translation import PROVIDERS, ProviderOptions, provider_class  # noqa: E402
from crawler.translation.service import ServiceConfig, TranslationService  # noqa: E402


def load(corpus: Path, pair: str, limit: int) -> tuple[list[str], list[str]]:
    base = corpus / "parallel" / "wmt22-general" / pair
    source = (base / f"generaltest2022.{pair}.src.{pair[:2]}").read_text(encoding="utf-8").splitlines()
    reference = (base / f"generaltest2022.{pair}.ref.A.en").read_text(encoding="utf-8").splitlines()
    pairs = [(s, r) for s, r in zip(source, reference, strict=True) if s.strip() and r.strip()][:limit]
    return [s for s, _ in pairs], [r for _, r in pairs]


async def translate_all(service: TranslationService, segments: list[str], language: str) -> list[str | None]:
    # Ten segments per "article": realistic call packing, bounded concurrency.
    groups = [segments[i : i + 10] for i in range(0, len(segments), 10)]
    outcomes = await asyncio.gather(
        *(service.translate({"title": None, "summary": None, "text": "\n".join(g)}, language, "en") for g in groups)
    )
    results: list[str | None] = []
    for group, outcome in zip(groups, outcomes, strict=True):
        if outcome.ok and outcome.fields.get("text") is not None:
            results.extend(outcome.fields["text"].split("\n"))
        else:
            results.extend([None] * len(group))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", default="google", choices=sorted(PROVIDERS))
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    parser.add_argument("--model")
    parser.add_argument("--limit", type=int, default=300, help="segments per language pair")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    try:
        import sacrebleu
    except ImportError:
        print("needs sacrebleu: pip install -e '.[quality]'", file=sys.stderr)
        return 2
    provider = provider_class(args.provider)(
        ProviderOptions(url=args.url, api_key=args.api_key, model=args.model, timeout=args.timeout)
    )
    print(f"| pair | segments | translated | chrF | BLEU | seconds | provider {provider.label} |")
    print("|---|---|---|---|---|---|---|")
    for pair in ("uk-en", "ru-en"):
        source, reference = load(args.corpus, pair, args.limit)
        service = TranslationService(
            provider, ServiceConfig(concurrency=args.concurrency, timeout=args.timeout, batch_wait=0.0)
        )
        started = time.perf_counter()
        hypotheses = asyncio.run(translate_all(service, source, pair[:2]))
        elapsed = time.perf_counter() - started
        service.close()
        done = [(h, r) for h, r in zip(hypotheses, reference, strict=True) if h is not None]
        if not done:
            print(f"| {pair} | {len(source)} | 0 | – | – | {elapsed:.0f} | |")
            continue
        hyps, refs = [h for h, _ in done], [[r for _, r in done]]
        chrf = sacrebleu.corpus_chrf(hyps, refs).score
        bleu = sacrebleu.corpus_bleu(hyps, refs).score
        print(f"| {pair} | {len(source)} | {len(done)} | {chrf:.1f} | {bleu:.1f} | {elapsed:.0f} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
