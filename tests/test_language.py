"""Language identification on labelled text from the shared corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from crawler.parsing.language import detect_language
from tests.site.corpus import SKIP_REASON, corpus_dir, corpus_root, have_corpus

LINGUA = corpus_root() / "langid" / "lingua-testdata"
needs_corpus = pytest.mark.skipif(not have_corpus(), reason=SKIP_REASON)


def sentences(lang: str, kind: str = "sentences", limit: int = 400) -> list[str]:
    lines = (LINGUA / lang / f"{kind}.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:limit]


@needs_corpus
@pytest.mark.parametrize("lang", ["uk", "ru", "en"])
def test_sentence_accuracy_with_the_source_hint(lang: str) -> None:
    # The full measurement (all 1,000 sentences, more data sets) is
    # benchmarks/language_accuracy.py; this is a fast regression guard.
    texts = sentences(lang)
    right = sum(detect_language(text, lang).language == lang for text in texts)
    assert right / len(texts) >= 0.99


@needs_corpus
@pytest.mark.parametrize("lang", ["uk", "ru"])
def test_uk_ru_without_hint_beat_plain_langdetect_margin(lang: str) -> None:
    texts = sentences(lang)
    right = sum(detect_language(text).language == lang for text in texts)
    assert right / len(texts) >= 0.985


@needs_corpus
@pytest.mark.parametrize(
    ("lang", "name"), [("uk", "ner-uk-ng-texts.uk.jsonl"), ("ru", "factRuEval-2016-texts.ru.jsonl")]
)
def test_long_texts(lang: str, name: str) -> None:
    rows = [json.loads(line) for line in (corpus_dir() / "langid" / name).read_text(encoding="utf-8").splitlines()][:60]
    for row in rows:
        if lang == "ru" and row["text"].lstrip().startswith("book_"):
            continue  # a file listing in the corpus, not Russian prose
        result = detect_language(row["text"], "uk" if lang == "ru" else "ru")  # even against the hint
        assert result.language == lang, row["id"]
        assert result.confidence > 0.99


def test_distinctive_letters_and_words_beat_a_wrong_hint() -> None:
    assert detect_language("Що ж тепер робити з цією історією?", hint="ru").language == "uk"
    assert detect_language("Это было очень давно, и никто не помнит.", hint="uk").language == "ru"


def test_latin_i_typed_for_cyrillic_i_is_still_ukrainian() -> None:
    assert detect_language("Мiнiстерство оборони повiдомило про вiдведення вiйськ").language == "uk"


def test_never_bulgarian_or_macedonian_for_uk_ru_text() -> None:
    # Short Russian text that plain langdetect calls Bulgarian or Macedonian.
    for text in ["Надо готовиться.", "Дом на горе", "Все на выборы", "Красный мост"]:
        assert detect_language(text).language in ("uk", "ru")


def test_hint_decides_ambiguous_short_text() -> None:
    assert detect_language("Дома", hint="ru").language == "ru"


def test_other_languages_and_scripts() -> None:
    assert detect_language("Der Bundestag hat am Donnerstag ein neues Gesetz beschlossen.").language == "de"
    assert detect_language("Le gouvernement a annoncé de nouvelles mesures économiques.", hint="en").language == "fr"
    assert detect_language("東京都は新しい計画を発表した。").language == "ja"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("国务院今天发布了新的经济刺激计划。", "zh"),
        ("정부는 오늘 새로운 경제 대책을 발표했다.", "ko"),
        ("Η κυβέρνηση ανακοίνωσε σήμερα νέα οικονομικά μέτρα.", "el"),
        ("הממשלה הודיעה היום על צעדים כלכליים חדשים.", "he"),
        ("أعلنت الحكومة اليوم عن إجراءات اقتصادية جديدة لدعم الاقتصاد.", "ar"),
        ("دولت امروز اقدامات اقتصادی جدیدی را برای حمایت از اقتصاد اعلام کرد.", "fa"),
        ("सरकार ने आज अर्थव्यवस्था के लिए नए आर्थिक उपायों की घोषणा की है।", "hi"),
        ("รัฐบาลประกาศมาตรการทางเศรษฐกิจใหม่ในวันนี้", "th"),
    ],
)
def test_scripts_outside_latin_and_cyrillic(text: str, lang: str) -> None:
    # Told by the script (or a small model for the script's languages), never by the
    # Latin or Cyrillic models.
    assert detect_language(text).language == lang


def test_a_script_no_model_knows_is_unknown() -> None:
    assert detect_language("საქართველოს მთავრობამ ახალი ზომები გამოაცხადა.").language == "und"


def test_every_candidate_has_a_model_an_alphabet_and_a_name() -> None:
    from crawler.parsing.cyrillic_profiles import LANGUAGES, ngram_loglik
    from crawler.parsing.language import _ALPHABETS, CYRILLIC_LANGUAGES
    from crawler.translation import LANGUAGE_NAMES

    assert tuple(ngram_loglik(["мир"])) == LANGUAGES, "the shipped data has a model of every candidate"
    assert set(_ALPHABETS) == CYRILLIC_LANGUAGES
    assert set(LANGUAGE_NAMES) >= CYRILLIC_LANGUAGES, "the digest names every language it may say"


def _reference_loglik(word: str, table: dict[str, int], order: int) -> float:
    """The letter model's definition, one language at a time: each letter scored by the
    longest context of at most ``order`` letters the table holds, a nat less per shorter
    context tried, an unseen letter at log(1e-7)."""
    score = 0.0
    for end in range(1, len(word) + 1):
        for tried, start in enumerate(range(max(end - order, 0), end)):
            if word[start:end] in table:
                score += -table[word[start:end]] / 20 - tried
                break
        else:
            score += math.log(1e-7) - (end - max(end - order, 0))
    return score


def test_the_packed_letter_models_score_as_their_definition(tmp_path: Path) -> None:
    """The models are packed into two arrays searched by n-gram code (cyrillic_profiles._save):
    every language, with its own order, scores a word as the plain per-language tables would,
    across back-offs, letters no model holds and contexts only some languages have."""
    from crawler.parsing import cyrillic_profiles

    tables = {
        "uk": {"п": 30, "р": 28, "и": 25, "пр": 12, "при": 5, "рив": 9, "прив": 2, "приві": 1, "і": 40, "ві": 7},
        "ru": {"п": 31, "р": 27, "и": 20, "пр": 11, "ри": 8, "при": 4, "прив": 3, "приве": 2},
        "tt": {"п": 35, "и": 22, "ри": 10, "при": 6, "прив": 2, "приві": 0, "ә": 15},
    }
    model = cyrillic_profiles._save(tables, tmp_path / "models.bin.gz")
    orders = {"uk": 5, "ru": 5, "tt": 4}
    for word in ("привіт", "привет", "прививка", "ә", "пxри", "x", "іі"):
        packed = cyrillic_profiles._word_loglik(word, model)
        expected = [_reference_loglik(word, tables[lang], orders[lang]) for lang in tables]
        assert packed == expected, word


def test_deterministic() -> None:
    text = "Президент заявив, що переговори тривають"
    results = {detect_language(text) for _ in range(5)}
    assert len(results) == 1


def test_empty_text() -> None:
    result = detect_language("12345 !!!", hint="uk")
    assert result.language == "uk" and result.confidence == 0.0
    assert detect_language("").language == "und"


def held_out(lang: str, limit: int) -> list[str]:
    # The even lines: language.py's weights and confidence were tuned on the odd ones.
    return sentences(lang, limit=2 * limit)[::2]


CYRILLIC_TARGETS = {"be": 0.97, "bg": 0.97, "mk": 0.97, "sr": 0.97, "kk": 0.99}


@needs_corpus
@pytest.mark.parametrize("lang", sorted(CYRILLIC_TARGETS))
def test_every_cyrillic_language_is_a_candidate_without_a_hint(lang: str) -> None:
    texts = held_out(lang, 300)
    right = sum(detect_language(text).language == lang for text in texts)
    assert right / len(texts) >= CYRILLIC_TARGETS[lang], f"{lang}: {right}/{len(texts)}"


def _sentence_start(sentence: str) -> str:
    words = sentence.split()
    return next((" ".join(words[:n]) for n in range(3, len(words)) if len(" ".join(words[:n])) >= 20), sentence)


@needs_corpus
def test_confidence_means_what_it_says() -> None:
    # Sentences and their first words (headline-sized) in nine languages, with and without
    # the hint: of the answers at >= 0.95, at least 99 % are right.
    answers = []
    for lang in ("uk", "ru", "be", "bg", "mk", "sr", "kk", "en", "de"):
        for text in held_out(lang, 120):
            for sample in (text, _sentence_start(text)):
                answers += [(detect_language(sample, hint), lang) for hint in (None, lang)]
    sure = [(result.language, lang) for result, lang in answers if result.confidence >= 0.95]
    right = sum(answer == lang for answer, lang in sure)
    assert len(sure) >= 0.6 * len(answers), "most answers are sure"
    assert right / len(sure) >= 0.99, f"{right}/{len(sure)} right at >= 0.95"
    single_words = [detect_language(word) for word in sentences("bg", "single-words", limit=100)]
    assert max(result.confidence for result in single_words) < 0.95, "one word is never certain"


@pytest.mark.parametrize(
    "headline",
    [
        "Час утвердити правду",
        "Перелопатити гору роботи",
        "Уряд ухвалив новий закон про оборону",
        "Ворог атакував Харків дронами",
        "Нацбанк зберіг облікову ставку",
        "Дощ та мокрий сніг на вихідних",
        "Як змінити тариф на газ",
        "Скільки коштує оренда житла у Львові",
    ],
)
def test_ukrainian_headlines_without_the_four_letters(headline: str) -> None:
    # Word shapes (-ити infinitives, -ння nouns), function words (та, як, що) and the letter
    # models tell these from Russian; the hint only helps.
    assert detect_language(headline).language == "uk"
    assert detect_language(headline, "uk").language == "uk"
    assert detect_language(headline, "ru").language in ("uk", "ru")


def test_unique_letters_are_evidence_not_gates() -> None:
    # A Belarusian name (ў) in Russian prose, a Russian quotation (ы) in Bulgarian prose.
    ru = "Лидер оппозиции Святлана Ціханоўская заявила журналистам, что выборы будут признаны недействительными."
    assert detect_language(ru).language == "ru"
    bg = "Премиерът каза, че „мы будем работать вместе“ не е достатъчно и поиска конкретни мерки от партньорите."
    assert detect_language(bg).language == "bg"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Қазақстан үкіметі жаңа бағдарламаны бекітті және қаржыландыруды ұлғайтты.", "kk"),
        ("Өкмөт жаңы мыйзам долбоорун кабыл алды жана аны парламентке жөнөттү.", "ky"),
        ("Ҳукумати Тоҷикистон барномаи навро қабул кард ва маблағгузориро зиёд намуд.", "tg"),
        ("Монгол Улсын Засгийн газар шинэ хуулийн төслийг баталж, УИХ-д өргөн барилаа.", "mn"),
        # Languages with small models (counted from one declaration) are candidates too.
        ("Чӑваш Республикин Пуҫлӑхӗ ҫӗнӗ саккуна алӑ пусрӗ тата ӑна пичетлеме хушрӗ.", "cv"),
        ("Ўзбекистон Республикаси Президенти янги қонунни имзолади ва уни эълон қилишни буюрди.", "uz"),
        ("Ирыстоны Республикæйы Сæргълæууæг ног закъоныл къух бафыста.", "os"),
    ],
)
def test_central_asian_volga_caucasian_and_mongolian_cyrillic(text: str, lang: str) -> None:
    assert detect_language(text).language == lang


@pytest.mark.parametrize(
    "text",
    [
        "Саха Өрөспүүбүлүкэтин Ил Дархана саҥа сокуону илии баттаата уонна бэчээттииргэ соҥуордаата.",  # Yakut
        "Аҧсны Аҳәынҭқарра ахада ҿыц закәны ақәиҭеит.",  # Abkhaz
    ],
)
def test_a_cyrillic_language_without_a_model_is_never_reported_as_certain(text: str) -> None:
    # Whatever candidate scores highest, the text fits none of the letter models.
    assert detect_language(text).confidence < 0.5


def test_serbian_in_latin_script_from_a_serbian_source() -> None:
    text = "Vlada Srbije je danas usvojila novi zakon o budžetu za narednu godinu."
    assert detect_language(text, "sr").language == "sr"
    assert detect_language(text).language == "hr", "without the source's word it reads as Croatian"
    assert detect_language("Le gouvernement a annoncé de nouvelles mesures économiques.", "sr").language == "fr"


def test_latin_brand_names_do_not_make_cyrillic_text_latin() -> None:
    # More Latin letters than Cyrillic ones, but all of them in names and model numbers.
    assert detect_language("Светильник настенный Maytoni MOD081WL-L13G3K Tessara").language == "ru"
    assert detect_language("The word «правда» means truth in Russian and in Ukrainian.").language == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Беларускі ўрад абвясціў новыя меры падтрымкі эканомікі пасля паседжання ў чацвер.", "be"),
        ("Владата на Македонија ќе ги разгледа новите мерки за поддршка на економијата.", "mk"),
        ("Влада Србије је данас усвојила нове мере подршке привреди, рекао је ђак.", "sr"),
        ("Правителството одобри днес нови мерки в подкрепа на икономиката, съобщиха от кабинета.", "bg"),
        ("Уряд ухвалив нові заходи підтримки економіки після засідання в четвер.", "uk"),
        ("Правительство одобрило новые меры поддержки экономики после заседания в четверг.", "ru"),
    ],
)
def test_news_sentences_of_the_region(text: str, lang: str) -> None:
    assert detect_language(text).language == lang


def test_short_text_is_never_reported_as_certain() -> None:
    headline = detect_language("Час утвердити правду", "uk")
    assert headline.language == "uk" and headline.confidence <= 0.9
    assert detect_language("Новини").confidence <= 0.5
    long = detect_language("Уряд ухвалив нові заходи підтримки економіки після засідання в четвер. " * 3, "uk")
    assert long.confidence >= 0.95


@pytest.mark.parametrize(
    ("code", "name"), [("bg", "Bulgarian"), ("be", "Belarusian"), ("sr", "Serbian"), ("kk", "Kazakh")]
)
def test_the_digest_names_every_cyrillic_language(code: str, name: str) -> None:
    from crawler.output.digest import provenance

    record = {
        "published": "2026-11-30T10:00:00+02:00",
        "language": code,
        "translation": {"status": "translated", "provider": "Google", "from": code, "to": "en"},
    }
    assert f"Translated from {name} via Google" in provenance(record)
