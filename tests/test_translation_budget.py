"""A per-run character budget (TRANSLATION_MAX_CHARS_PER_RUN) and the provider's own quota
(DeepL's usage), against the loopback stand-ins: the budget is never passed, what does not
fit is written "deferred" and translated first on the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.translation.service import Outcome
from tests.conftest import run_crawl
from tests.site.newsroom import Newsroom
from tests.site.server import Site
from tests.site.translators import FakeTranslator, translate_all


@pytest.fixture
def fake() -> Iterator[FakeTranslator]:
    with FakeTranslator() as server:
        yield server


def run(fake: FakeTranslator, name: str, count: int, **kwargs: object) -> list[Outcome]:
    articles: list[dict[str, str | None]] = [
        {"title": f"Заголовок статті {n}", "summary": None, "text": f"Перший абзац статті {n} про уряд.\nДругий абзац."}
        for n in range(count)
    ]
    return translate_all(fake.service(name, **kwargs), articles)


@pytest.mark.parametrize("name", ["google", "libre", "deepl"])
@pytest.mark.parametrize("batch_wait", [0.0, 0.1])
def test_the_run_budget_is_never_passed_and_the_rest_is_deferred(
    fake: FakeTranslator, name: str, batch_wait: float
) -> None:
    outcomes = run(fake, name, 20, max_chars_per_run=600, batch_wait=batch_wait)
    assert 0 < fake.chars <= 600, fake.chars
    done = [o for o in outcomes if o.ok]
    deferred = [o for o in outcomes if not o.ok]
    assert done and deferred, "some fit, the rest waits"
    assert all(o.error is not None and o.error.kind == "deferred" for o in deferred)
    assert "TRANSLATION_MAX_CHARS_PER_RUN" in str(deferred[0].error)


def test_an_exhausted_deepl_quota_sends_nothing(fake: FakeTranslator) -> None:
    fake.deepl_usage = (500_000, 500_000)
    outcomes = run(fake, "deepl", 5)
    assert fake.calls == 0
    assert all(o.error is not None and o.error.kind == "deferred" and "quota" in str(o.error) for o in outcomes)


def test_a_deepl_quota_below_the_budget_becomes_the_budget(fake: FakeTranslator) -> None:
    fake.deepl_usage = (499_700, 500_000)
    outcomes = run(fake, "deepl", 20, max_chars_per_run=100_000)
    assert 0 < fake.chars <= 300
    assert any(o.ok for o in outcomes) and any(not o.ok for o in outcomes)


def test_deferred_articles_come_out_translated_first_on_the_next_run(tmp_path: Path, fake: FakeTranslator) -> None:
    with Site() as site:
        newsroom = Newsroom(site, 12)
        provider = [
            "-s",
            "TRANSLATION_PROVIDER=google",
            "-s",
            f"TRANSLATION_URL={fake.url('/m')}",
            "-s",
            "TRANSLATION_TIMEOUT=3",
        ]
        first = run_crawl(tmp_path, newsroom.sources_yaml(), *provider, "-s", "TRANSLATION_MAX_CHARS_PER_RUN=3000")
        assert first.returncode == 0, first.stderr[-2000:]
        statuses = [r["translation"]["status"] for r in first.records]
        assert len(first.records) == 12 and "translated" in statuses and "deferred" in statuses
        assert fake.chars <= 3000
        deferred = {r["id"] for r in first.records if r["translation"]["status"] == "deferred"}
        for record in first.records:
            if record["id"] in deferred:
                assert record["text_en"] is None and "budget" in record["translation"]["error"]
        summary = json.loads(Path(f"{first.output}.summary.json").read_text(encoding="utf-8"))
        assert sum(s["translation_deferred"] for s in summary["sources"].values()) == len(deferred)
        newsroom.site.reset_hits()
        second = run_crawl(tmp_path, newsroom.sources_yaml(), *provider, output="second.jsonl")
        assert {r["id"] for r in second.records} == deferred
        assert {r["translation"]["status"] for r in second.records} == {"translated"}
        assert newsroom.article_hits() == 0, "translated from the stored records, no page download"
        third = run_crawl(tmp_path, newsroom.sources_yaml(), *provider, output="third.jsonl")
        assert third.records == []


def test_a_429_storm_slows_the_run_down_instead_of_giving_up(fake: FakeTranslator) -> None:
    counts: dict[str, int] = {}
    fake.script.extend([("status", 429)] * 8)  # no Retry-After: Google's web endpoint after a burst
    outcomes = run(
        fake, "google", 6, concurrency=4, retries=5, failure_limit=3,
        stats=lambda key, n: counts.__setitem__(key, counts.get(key, 0) + n),
    )  # fmt: skip
    assert all(o.ok for o in outcomes), [str(o.error) for o in outcomes if not o.ok]
    assert counts.get("translation/slowed_down") == 1 and not counts.get("translation/provider_down")
    assert counts["translation/failures/rate_limited"] == 8, "eight 429s in a row, past the failure limit of 3"
