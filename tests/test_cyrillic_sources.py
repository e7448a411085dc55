"""Outlets in the region's other Cyrillic languages, end to end: a Bulgarian and a Belarusian
source (each with its ``language``), crawled with the default TRANSLATION_LANGUAGES and
translated through a loopback stand-in of Google's endpoint."""

from __future__ import annotations

from html import escape
from pathlib import Path

from tests.conftest import run_crawl
from tests.site.server import Site
from tests.site.translators import FakeTranslator

ARTICLES = {
    "bg": (
        "Правителството одобри бюджета за следващата година",
        [
            "Министерският съвет одобри в сряда проектобюджета за следващата година, съобщиха от "
            "правителствената пресслужба. Документът предвижда увеличение на разходите за образование и "
            "здравеопазване, както и нови инвестиции в транспортната инфраструктура на страната.",
            "Според финансовия министър дефицитът ще остане под три процента от брутния вътрешен продукт. "
            "Той заяви, че приходите от данъци растат по-бързо от очакваното, а безработицата е на "
            "най-ниското си равнище от началото на века.",
            "Проектът тепърва ще бъде обсъден в Народното събрание, където опозицията вече обяви, че ще "
            "предложи промени в заплатите на учителите и в пенсиите.",
        ],
    ),
    "be": (
        "Урад зацвердзіў новую праграму падтрымкі вёсак",
        [
            "Савет міністраў у чацвер зацвердзіў праграму падтрымкі малых вёсак на наступныя пяць гадоў, "
            "паведаміла прэс-служба ўрада. Праграма прадугледжвае рамонт дарог, будаўніцтва новых школ і "
            "дапамогу маладым сем'ям, якія пераязджаюць у сельскую мясцовасць.",
            "Паводле слоў міністра сельскай гаспадаркі, на праграму пойдзе больш за паўмільярда рублёў. "
            "Ён таксама адзначыў, што ўпершыню грошы будуць размеркаваныя паміж раёнамі па колькасці "
            "жыхароў, а не па плошчы зямлі.",
            "Эксперты лічаць, што без павышэння заробкаў у вёсцы праграма не спыніць ад'езд моладзі ў "
            "гарады, але вітаюць рамонт дарог і школ.",
        ],
    ),
}
NAMES = {"bg": "Bulgarian", "be": "Belarusian"}
# A Macedonian article the Bulgarian outlet carries: neither its own language nor listed.
MACEDONIAN = (
    "Собранието го усвои буџетот за следната година",
    [
        "Пратениците во Собранието доцна вечерта го усвоија буџетот за следната година, по "
        "тридневна расправа во која опозицијата побара поголеми плати за наставниците и лекарите.",
        "Според министерот за финансии, дефицитот ќе биде намален, а капиталните инвестиции во "
        "патишта и железници ќе бидат зголемени за речиси една третина во однос на оваа година.",
    ],
)


def _page(language: str, title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<meta property='article:published_time' content='2026-11-30T10:00:00+02:00'></head>"
        f"<body><article><h1>{escape(title)}</h1>{body}</article></body></html>"
    )


def _outlets(site: Site) -> str:
    """The Bulgarian and Belarusian outlets on ``site`` (the Bulgarian one also carries a
    Macedonian article); returns their sources file."""
    sources = "sources:\n"
    for language, (title, paragraphs) in ARTICLES.items():
        site.add(f"/{language}/news/1.html", _page(language, title, paragraphs))
        items = [(title, f"/{language}/news/1.html")]
        if language == "bg":
            # Under the outlet's <html lang="bg">, as outlets carrying a neighbour's copy leave it.
            site.add("/bg/news/2.html", _page("bg", MACEDONIAN[0], MACEDONIAN[1]))
            items.append((MACEDONIAN[0], "/bg/news/2.html"))
        entries = "".join(
            f"<item><title>{escape(text)}</title><link>{site.url(path)}</link>"
            "<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item>"
            for text, path in items
        )
        feed = f"<rss version='2.0'><channel><title>{language}</title>{entries}</channel></rss>"
        site.add(f"/{language}/rss.xml", feed, content_type="application/rss+xml")
        sources += (
            f"  - name: outlet-{language}\n    feeds: ['{site.url(f'/{language}/rss.xml')}']\n"
            f"    language: {language}\n    translate: true\n"
        )
    return sources


def test_bulgarian_and_belarusian_sources_are_detected_and_translated(tmp_path: Path) -> None:
    with Site() as site, FakeTranslator() as google:
        digest = tmp_path / "digest.txt"
        run = run_crawl(
            tmp_path, _outlets(site), "-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={google.url('/m')}",
            "-O", f"{digest}:digest",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        records = {record["source"]: record for record in run.records if record["language"] != "mk"}
        assert sorted(records) == ["outlet-be", "outlet-bg"]
        (macedonian,) = [record for record in run.records if record["language"] == "mk"]
        assert macedonian["translation"]["status"] == "skipped" and macedonian["text_en"] is None
        assert "Not translating articles in mk" in run.stderr and "not in TRANSLATION_LANGUAGES" in run.stderr
        for language in ARTICLES:
            record = records[f"outlet-{language}"]
            assert record["language"] == language and record["language_confidence"] >= 0.95
            assert record["translation"]["status"] == "translated" and record["translation"]["from"] == language
            assert record["title_en"] and not any("а" <= ch <= "я" for ch in record["title_en"].lower())
        assert sorted(set(google.source_languages)) == ["be", "bg"], "Google is told the right source language"
    text = digest.read_text(encoding="utf-8")
    for name in NAMES.values():
        assert f"30.11.2026 – Translated from {name} via Google" in text


def test_a_language_the_libre_server_has_no_model_for_is_skipped(tmp_path: Path) -> None:
    # Skipped, not failed: a failed translation is sent again on every run.
    with Site() as site, FakeTranslator() as libre:
        libre.libre_languages = ["bg", "uk", "ru", "en"]
        run = run_crawl(
            tmp_path, _outlets(site), "-s", "TRANSLATION_PROVIDER=libre", "-s", f"TRANSLATION_URL={libre.url('')}"
        )
        assert run.returncode == 0, run.stderr[-3000:]
        records = {record["language"]: record for record in run.records}
        assert records["bg"]["translation"]["status"] == "translated"
        belarusian = records["be"]["translation"]
        assert belarusian["status"] == "skipped" and "no model for 'be'" in belarusian["error"]
        assert records["be"]["text_en"] is None and "Not translating articles in be" in run.stderr
        assert not any("Собранието" in text or "Савет" in text for text in libre.texts), "nothing sent for be, mk"
