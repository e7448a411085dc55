"""The ctranslate2 provider with a tiny random-weight model built at test time (plumbing, not quality)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from crawler.translation import ProviderOptions, provider_class
from crawler.translation.service import ServiceConfig, TranslationService
from tests.conftest import run_crawl
from tests.site.corpus import SKIP_REASON, NewsSite, corpus_dir, have_corpus, news_sources_yaml

pytest.importorskip("ctranslate2", reason="the ctranslate2 extra is not installed")
pytest.importorskip("sentencepiece", reason="the ctranslate2 extra is not installed")
pytestmark = pytest.mark.skipif(not have_corpus(), reason=SKIP_REASON)

CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.site.tiny_ct2 import build_tiny_model

    parallel = corpus_dir() / "parallel" / "wmt22-general"
    source = (parallel / "uk-en" / "generaltest2022.uk-en.src.uk").read_text(encoding="utf-8").splitlines()[:400]
    source += (parallel / "ru-en" / "generaltest2022.ru-en.src.ru").read_text(encoding="utf-8").splitlines()[:400]
    target = (parallel / "uk-en" / "generaltest2022.uk-en.ref.A.en").read_text(encoding="utf-8").splitlines()[:800]
    return build_tiny_model(tmp_path_factory.mktemp("ct2") / "model", source, target)


def test_provider_reports_a_missing_model(tmp_path: Path) -> None:
    provider = provider_class("ctranslate2")(ProviderOptions(model=str(tmp_path)))
    assert "no CTranslate2 model" in (provider.check() or "")
    assert "TRANSLATION_MODEL" in (provider_class("ctranslate2")(ProviderOptions()).check() or "")


def test_service_with_the_tiny_model(tiny_model: Path) -> None:
    provider = provider_class("ctranslate2")(ProviderOptions(model=str(tiny_model), timeout=30))
    service = TranslationService(provider, ServiceConfig(timeout=30, batch_wait=0.0))
    text = "Перший абзац статті.\nДругий абзац, " + "дуже довгий " * 150 + "кінець."
    try:
        outcome = asyncio.run(
            service.translate({"title": "Заголовок статті", "summary": None, "text": text}, "uk", "en")
        )
    finally:
        service.close()
    assert outcome.ok, outcome.error
    assert len(outcome.fields["text"].split("\n")) == 2
    assert not CYRILLIC.search(outcome.fields["text"] + outcome.fields["title"])
    assert outcome.calls == 1, "the model takes a batch of units in one call"


def test_crawl_with_a_local_model(tmp_path: Path, news_site: NewsSite, tiny_model: Path) -> None:
    run = run_crawl(
        tmp_path,
        news_sources_yaml(news_site),
        "-a", "sources=sitemaps",
        "-s", "TRANSLATION_PROVIDER=ctranslate2", "-s", f"TRANSLATION_MODEL={tiny_model}", "-s", "TRANSLATION_TIMEOUT=60",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    cyrillic = [r for r in run.records if r["language"] in ("uk", "ru")]
    assert cyrillic
    for record in cyrillic:
        assert record["translation"]["status"] == "translated", record["translation"]
        assert record["translation"]["provider"] == "a local CTranslate2 model"
        assert len(record["text_en"].split("\n")) == len(record["text"].split("\n"))
