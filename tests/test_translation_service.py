"""The translation stage against a loopback server speaking Google's, LibreTranslate's and DeepL's APIs."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config.sources_file import Source
from crawler.state.sqlite_store import StateDB
from crawler.translation import ProviderOptions, provider_class
from crawler.translation.base import TranslationError
from crawler.translation.policy import translation_decision
from crawler.translation.service import ServiceConfig, TranslationService, check_translation
from tests.site.translators import FakeTranslator, translit

ARTICLE = {
    "title": "Україна отримала нову допомогу",
    "summary": "Коротко про головне.",
    "text": "Перший абзац статті. Друге речення першого абзацу.\nДругий абзац про економіку.\nInstagram: @kyiv\nТретій абзац, останній.",
}


@pytest.fixture
def fake() -> Iterator[FakeTranslator]:
    with FakeTranslator() as server:
        yield server


def service(
    fake: FakeTranslator, name: str = "google", tmp_path: Path | None = None, **kwargs: object
) -> tuple[TranslationService, Counter]:
    counts: Counter = Counter()
    options = fake.provider_options(name, timeout=float(kwargs.pop("timeout", 2.0)))  # type: ignore[arg-type]
    provider = provider_class(name)(options)
    cache = StateDB(tmp_path / "state.db") if tmp_path is not None else None
    wiring = {"cache": cache, "stats": lambda key, n: counts.update({key: n})}
    wiring.update({name: kwargs.pop(name) for name in ("cache", "stats", "sleep") if name in kwargs})
    config = ServiceConfig(**{"timeout": options.timeout, "backoff": 0.05, "batch_wait": 0.0, **kwargs})  # type: ignore[arg-type]
    return TranslationService(provider, config, **wiring), counts  # type: ignore[arg-type]


def run(svc: TranslationService, fields: dict[str, str | None] = ARTICLE, source: str = "uk") -> object:
    try:
        return asyncio.run(svc.translate(fields, source, "en"))
    finally:
        svc.close()


@pytest.mark.parametrize("name", ["google", "libre", "deepl"])
def test_each_provider_translates_with_structure_intact(fake: FakeTranslator, name: str) -> None:
    svc, _counts = service(fake, name)
    outcome = run(svc)
    assert outcome.ok, outcome.error
    assert outcome.fields["title"] == translit(ARTICLE["title"])
    assert outcome.fields["summary"] == translit(ARTICLE["summary"])
    assert outcome.fields["text"].split("\n") == [translit(p) for p in ARTICLE["text"].split("\n")]
    assert outcome.calls == 1 == fake.calls, "a short article is one call"
    assert "Instagram: @kyiv" not in fake.texts, "paragraphs without Cyrillic are not sent"
    assert outcome.chars == sum(len(v or "") for v in ARTICLE.values()) - ARTICLE["text"].count("\n")


def test_long_paragraphs_are_split_and_calls_stay_within_budget(fake: FakeTranslator) -> None:
    sentences = [f"Речення номер {n} про події в Україні сьогодні." for n in range(300)]
    text = "\n".join([" ".join(sentences[:150]), "Короткий абзац.", " ".join(sentences[150:])])
    svc, _ = service(fake, "google", max_chars=1000)
    outcome = run(svc, {"title": "Заголовок", "summary": None, "text": text})
    assert outcome.ok
    assert outcome.fields["text"].split("\n") == [translit(p) for p in text.split("\n")]
    assert all(len(t) <= 1000 for t in fake.texts)
    assert sum(map(len, fake.texts)) / len(fake.texts) >= 800, "calls are filled to ≥ 80 % of the budget"


def test_429_with_retry_after_is_honoured(fake: FakeTranslator) -> None:
    fake.script.extend([("status", 429, {"Retry-After": "1"})])
    svc, counts = service(fake, "libre")
    started = time.monotonic()
    outcome = run(svc)
    assert outcome.ok and fake.calls == 2
    assert time.monotonic() - started >= 1.0
    assert counts["translation/failures/rate_limited"] == 1 and counts["translation/retries"] == 1


def test_server_errors_are_retried_then_succeed(fake: FakeTranslator) -> None:
    fake.script.extend([("status", 500), ("status", 503)])
    svc, counts = service(fake, "google", retries=2)
    outcome = run(svc)
    assert outcome.ok and fake.calls == 3 and counts["translation/failures/server_error"] == 2


def test_persistent_failure_fails_the_article_without_losing_it(fake: FakeTranslator) -> None:
    fake.mode = ("status", 500)
    svc, _counts = service(fake, "google", retries=2)
    outcome = run(svc)
    assert not outcome.ok and outcome.error.kind == "server_error" and outcome.fields == {}
    assert fake.calls == 3


@pytest.mark.parametrize("behaviour", [("hang", 30), ("trickle", 30)])
def test_hanging_provider_is_cut_at_the_timeout(fake: FakeTranslator, behaviour: tuple) -> None:
    fake.mode = behaviour
    svc, _ = service(fake, "google", timeout=1.0, retries=1)
    started = time.monotonic()
    outcome = run(svc)
    elapsed = time.monotonic() - started
    assert not outcome.ok and outcome.error.kind == "timeout"
    assert elapsed < 4.5, f"two attempts of 1 s each plus backoff, not {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [(("garbage",), "bad_response"), (("echo",), "echo"), (("notice",), "quota")],
)
def test_non_translations_count_as_failures(fake: FakeTranslator, behaviour: tuple, kind: str) -> None:
    fake.mode = behaviour
    svc, counts = service(fake, "libre" if kind != "bad_response" else "google", retries=1)
    outcome = run(svc)
    assert not outcome.ok and outcome.error.kind in (kind, "unavailable")
    assert counts[f"translation/failures/{kind}"] >= 1


def test_provider_is_given_up_after_consecutive_failures(fake: FakeTranslator, tmp_path: Path) -> None:
    fake.mode = ("status", 500)
    svc, counts = service(fake, "google", retries=1, failure_limit=4, concurrency=2)

    async def many() -> list[object]:
        return await asyncio.gather(
            *(
                svc.translate({"title": f"Стаття {n}", "summary": None, "text": f"Текст статті номер {n}."}, "uk", "en")
                for n in range(20)
            )
        )

    started = time.monotonic()
    try:
        outcomes = asyncio.run(many())
    finally:
        svc.close()
    assert all(not o.ok for o in outcomes)
    assert fake.calls <= 6, "after 4 consecutive failures nothing more is sent"
    assert counts["translation/provider_down"] == 1
    assert sum(o.error.kind == "unavailable" for o in outcomes) >= 14
    assert time.monotonic() - started < 3


def test_quota_notice_gives_up_at_once(fake: FakeTranslator) -> None:
    fake.mode = ("notice",)
    svc, counts = service(fake, "libre")
    outcome = run(svc)
    assert not outcome.ok and fake.calls == 1 and counts["translation/provider_down"] == 1


def test_merged_lines_fall_back_to_one_paragraph_per_call(fake: FakeTranslator) -> None:
    fake.script.append(("merge_lines",))
    svc, counts = service(fake, "google")
    outcome = run(svc)
    assert outcome.ok
    assert outcome.fields["text"].split("\n") == [translit(p) for p in ARTICLE["text"].split("\n")]
    assert counts["translation/regrouped"] == 1 and fake.calls == 1 + 5


def test_cache_serves_repeats_across_articles_and_runs(fake: FakeTranslator, tmp_path: Path) -> None:
    svc, _ = service(fake, "google", tmp_path=tmp_path)
    first = run(svc)
    assert first.ok and fake.calls == 1
    svc, counts = service(fake, "google", tmp_path=tmp_path)
    again = run(svc)
    assert again.ok and again.fields == first.fields and fake.calls == 1, "no provider call on a second run"
    assert counts["translation/cache_hits"] == 5
    svc, _ = service(fake, "google", tmp_path=tmp_path)
    other = run(svc, {"title": "Інша стаття", "summary": None, "text": "Новий абзац.\nКоротко про головне."})
    assert other.ok and sorted(re.sub(r"^\[\d+\] ", "", line) for line in fake.texts[-1].split("\n")) == [
        "Інша стаття",
        "Новий абзац.",
    ], "the boilerplate paragraph came from the cache"


def test_cache_is_per_provider_and_language(fake: FakeTranslator, tmp_path: Path) -> None:
    run(service(fake, "google", tmp_path=tmp_path)[0])
    run(service(fake, "libre", tmp_path=tmp_path)[0])
    run(service(fake, "google", tmp_path=tmp_path)[0], source="ru")
    assert fake.calls == 3


def test_missing_credentials_fail_clearly_without_calls(fake: FakeTranslator) -> None:
    provider = provider_class("deepl")(ProviderOptions(url=fake.url(""), api_key=None))
    svc = TranslationService(provider)
    outcome = run(svc)
    assert not outcome.ok and "DeepL key" in str(outcome.error) and fake.calls == 0


@pytest.mark.parametrize(
    ("original", "translated", "kind"),
    [
        ("Привіт, світе", None, "empty"),
        ("Привіт, світе", "  ", "empty"),
        ("Привіт, світе", "привіт,  світе", "echo"),
        ("Це довгий текст українською мовою для перевірки", "Це довгий текст українською мовою, Hello", "echo"),
        ("Привіт", "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY", "quota"),
    ],
)
def test_check_translation(original: str, translated: object, kind: str) -> None:
    with pytest.raises(TranslationError) as caught:
        check_translation(original, translated, "en")
    assert caught.value.kind == kind
    assert check_translation("Привіт, світе", " Hello, world ", "en") == "Hello, world"


@pytest.mark.parametrize(
    ("language", "provider", "status"),
    [
        ("bg", "google", "translated"),
        ("be", "google", "translated"),
        ("mk", "google", "translated"),
        ("tg", "google", "translated"),
        ("bg", "deepl", "translated"),
        ("be", "deepl", "skipped"),
        ("sr", "deepl", "skipped"),
        ("mk", "libre", "translated"),  # the server's installed models decide
        ("pl", "google", "skipped"),  # neither in TRANSLATION_LANGUAGES nor the source's language
    ],
)
def test_translation_follows_every_detected_language(language: str, provider: str, status: str) -> None:
    languages = {"uk", "ru", "be", "bg", "mk", "sr", "kk", "ky", "tg", "mn"}
    decided, why = translation_decision(language, "en", languages, provider, None)
    assert decided == status, why
    if status == "skipped" and language != "pl":
        assert why.startswith(f"{provider_class(provider).label} does not translate from ")


def test_a_source_s_own_language_is_translated_without_listing_it() -> None:
    bulgarian = Source(name="bg-outlet", feeds=("http://127.0.0.1/rss",), language="bg")
    assert translation_decision("bg", "en", {"uk", "ru"}, "google", bulgarian)[0] == "translated"
    # What the source says about itself covers its own language only, and translate: false wins.
    assert translation_decision("mk", "en", {"uk", "ru"}, "google", bulgarian)[0] == "skipped"
    quiet = Source(name="bg-quiet", feeds=("http://127.0.0.1/rss",), language="bg", translate=False)
    assert translation_decision("bg", "en", {"uk", "ru", "bg"}, "google", quiet)[0] == "skipped"
    assert provider_class("google").code("he") == "iw" and provider_class("deepl").code("bg") == "bg"


def test_a_language_the_libre_server_lacks_is_unsupported_not_failed(fake: FakeTranslator) -> None:
    # The server lists its models at GET /languages; it has none for Macedonian.
    fake.libre_languages = ["uk", "ru", "en"]
    svc, _counts = service(fake, "libre", failure_limit=2)

    async def both() -> list[object]:
        macedonian = {"title": "Владата ги намали цените", "summary": None, "text": "Собранието го усвои буџетот."}
        outcomes = [await svc.translate(dict(macedonian), "mk", "en") for _ in range(3)]
        return [*outcomes, await svc.translate(dict(ARTICLE), "uk", "en")]

    try:
        *skipped, ukrainian = asyncio.run(both())
    finally:
        svc.close()
    assert all(o.error is not None and o.error.kind == "unsupported" for o in skipped)  # type: ignore[attr-defined]
    assert ukrainian.ok, "three unsupported articles do not give the provider up"  # type: ignore[attr-defined]
    assert fake.calls == 1, "nothing was sent for Macedonian"
    fake.libre_languages = None  # an older server without /languages: every language is tried
    svc, _counts = service(fake, "libre")
    assert run(svc, {"title": "Владата", "summary": None, "text": "Собранието."}, "mk").ok  # type: ignore[attr-defined]
