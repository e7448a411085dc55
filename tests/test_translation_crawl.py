"""Real crawls of the news site through a loopback translation service."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from crawler.exit_codes import EXIT_DEGRADED
from tests.conftest import CrawlRun, run_crawl
from tests.site.corpus import NewsSite, news_sources_yaml
from tests.site.translators import FakeTranslator, translit

ROOT = Path(__file__).resolve().parents[1]
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
URL_PATH = {"google": "/m", "libre": "", "deepl": ""}


@pytest.fixture
def fake() -> Iterator[FakeTranslator]:
    with FakeTranslator() as server:
        yield server


def crawl(
    tmp_path: Path,
    news_site: NewsSite,
    fake: FakeTranslator,
    provider: str = "google",
    *extra: str,
    yaml: str | None = None,
) -> CrawlRun:
    settings = [
        "-s",
        f"TRANSLATION_PROVIDER={provider}",
        "-s",
        f"TRANSLATION_URL={fake.url(URL_PATH.get(provider, ''))}",
    ]
    settings += ["-s", "TRANSLATION_BACKOFF=0.05", "-s", "TRANSLATION_API_KEY=test-key"]
    return run_crawl(tmp_path, yaml or news_sources_yaml(news_site), *settings, *extra)


def expected_paragraph(paragraph: str) -> str:
    return translit(paragraph) if CYRILLIC.search(paragraph) else paragraph


@pytest.mark.parametrize("provider", ["google", "libre", "deepl"])
def test_every_uk_ru_article_is_translated(
    tmp_path: Path, news_site: NewsSite, fake: FakeTranslator, provider: str
) -> None:
    run = crawl(tmp_path, news_site, fake, provider, "-s", "TRANSLATION_CONCURRENCY=2")
    assert run.returncode == 0, run.stderr[-2000:]
    schema = json.loads((ROOT / "crawler" / "schema" / "article.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    statuses = {"translated": 0, "not_needed": 0, "skipped": 0}
    for record in run.records:
        assert not list(validator.iter_errors(record))
        status = record["translation"]["status"]
        statuses[status] += 1
        if record["language"] in ("uk", "ru"):
            assert status == "translated", record["translation"]
            paragraphs = record["text"].split("\n")
            assert record["text_en"].split("\n") == [expected_paragraph(p) for p in paragraphs]
            assert record["title_en"] == expected_paragraph(record["title"])
            if record["summary"]:
                assert record["summary_en"] == expected_paragraph(record["summary"])
            assert record["translation"]["provider"] in ("Google", "LibreTranslate", "DeepL")
            assert record["translation"]["from"] == record["language"] and record["translation"]["to"] == "en"
            assert record["translation"]["chars"] >= len(record["text"]) - len(paragraphs)
        elif record["language"] == "en":
            assert status == "not_needed"
            assert (record["title_en"], record["text_en"], record["summary_en"]) == (
                record["title"],
                record["text"],
                record["summary"],
            )
        else:
            assert status == "skipped" and record["text_en"] is None
    assert statuses["translated"] >= 12 and statuses["not_needed"] >= 2 and statuses["skipped"] >= 3
    assert fake.max_in_flight <= 2, "TRANSLATION_CONCURRENCY bounds the calls in flight"
    assert run.stats["translation/calls"] == fake.calls


def test_second_run_makes_no_provider_calls(tmp_path: Path, news_site: NewsSite, fake: FakeTranslator) -> None:
    first = crawl(tmp_path, news_site, fake)
    calls = fake.calls
    assert first.returncode == 0 and calls > 0
    second = crawl(tmp_path, news_site, fake, "google", "-a", "full=1")  # re-emit everything
    assert second.returncode == 0 and len(second.records) == len(first.records)
    assert fake.calls == calls, "unchanged text is served from the translation cache"
    assert second.stats["translation/cache_hits"] > 0
    translated = {r["url"]: r["text_en"] for r in second.records if r["translation"]["status"] == "translated"}
    assert translated == {r["url"]: r["text_en"] for r in first.records if r["translation"]["status"] == "translated"}


@pytest.mark.parametrize("behaviour", [("status", 500), ("hang", 60)])
def test_dead_provider_does_not_hold_up_the_crawl(
    tmp_path: Path, news_site: NewsSite, fake: FakeTranslator, behaviour: tuple
) -> None:
    fake.mode = behaviour
    started = time.monotonic()
    run = crawl(tmp_path, news_site, fake, "google", "-s", "TRANSLATION_TIMEOUT=1")
    elapsed = time.monotonic() - started
    assert run.returncode == EXIT_DEGRADED, "the run says the articles went out untranslated"
    assert elapsed < 30, f"took {elapsed:.0f} s"
    cyrillic = [r for r in run.records if r["language"] in ("uk", "ru")]
    assert len(cyrillic) >= 12, "every article is still written"
    for record in cyrillic:
        assert record["translation"]["status"] == "failed"
        assert record["title_en"] is None and record["text_en"] is None and record["summary_en"] is None
        assert record["translation"]["error"]
        assert record["text"], "the original text is kept"
    assert run.stats["translation/provider_down"] == 1
    assert fake.calls <= 12, "the provider is given up after a few consecutive failures"


def test_provider_none_and_translate_false(tmp_path: Path, news_site: NewsSite, fake: FakeTranslator) -> None:
    run = crawl(tmp_path, news_site, fake, "none")
    assert run.returncode == 0 and fake.calls == 0
    assert {r["translation"]["status"] for r in run.records if r["language"] in ("uk", "ru")} == {"skipped"}
    yaml = news_sources_yaml(news_site).replace("  - name: feeds\n", "  - name: feeds\n    translate: false\n")
    other = tmp_path / "second"
    other.mkdir()
    run = crawl(other, news_site, fake, "google", yaml=yaml)
    by_source = {(r["source"], r["translation"]["status"]) for r in run.records if r["language"] in ("uk", "ru")}
    assert ("feeds", "skipped") in by_source and ("sitemaps", "translated") in by_source
    assert ("feeds", "translated") not in by_source


def test_unknown_provider_is_a_config_error(tmp_path: Path, news_site: NewsSite, fake: FakeTranslator) -> None:
    run = crawl(tmp_path, news_site, fake, "babelfish")
    assert run.returncode == 2 and "unknown TRANSLATION_PROVIDER 'babelfish'" in run.stderr
