"""Language identification: langdetect, made deterministic and told about Cyrillic.

langdetect alone confuses Ukrainian, Russian, Bulgarian and Macedonian on short text and
has no profile of Belarusian, Serbian, Kazakh, Kyrgyz, Tajik, Tatar, Chuvash, Ossetian,
Uzbek or Mongolian. So:

* the choice is restricted to languages written in the text's script;
* Cyrillic text is scored over every Cyrillic language the region writes in, by letter
  models of each language (``cyrillic_profiles``), each alphabet's letters, function
  words and word shapes, langdetect's capped say, and the source's expected language;
* the scores become a confidence that means what it says: tempered, capped on text too
  short to be sure of, and lowered on text no letter model fits (measured by
  ``benchmarks/language_accuracy.py``).
"""

from __future__ import annotations

import bisect
import math
import os
import re
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from functools import cache

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from crawler.parsing.chars import CYRILLIC, is_cyrillic
from crawler.parsing.cyrillic_profiles import CYRILLIC_LANGUAGES, LANGUAGES, ngram_loglik, warm_up_profiles

__all__ = ["CYRILLIC_LANGUAGES", "LanguageResult", "detect_language", "warm_up"]

UNKNOWN = "und"

# Scores are kept in LANGUAGES' order, not CYRILLIC_LANGUAGES': a set's order changes with each
# process's string hashing, and with it which of two tied languages wins and the last digits
# of a confidence. These are the Cyrillic-script languages langdetect has a profile of.
_LANGDETECT_CYRILLIC = frozenset({"uk", "ru", "bg", "mk"})
_ALPHABETS = {
    "uk": frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"),
    "ru": frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
    "be": frozenset("абвгдеёжзійклмнопрстуўфхцчшыьэюя"),
    "bg": frozenset("абвгдежзийклмнопрстуфхцчшщъьюя"),
    "mk": frozenset("абвгдѓежзѕијклљмнњопрстќуфхцчџш"),
    "sr": frozenset("абвгдђежзијклљмнњопрстћуфхцчџш"),
    "kk": frozenset("аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"),
    "ky": frozenset("абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя"),
    "tg": frozenset("абвгғдеёжзиӣйкқлмнопрстуӯфхҳчҷшъэюя"),
    "mn": frozenset("абвгдеёжзийклмноөпрстуүфхцчшщъыьэюя"),
    "tt": frozenset("аәбвгдеёжҗзийклмнңоөпрстуүфхһцчшщъыьэюя"),
    "cv": frozenset("аӑбвгдеёӗжзийклмнопрсҫтуӳфхцчшщъыьэюя"),
    "os": frozenset("аæбвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
    "uz": frozenset("абвгдеёжзийклмнопрстуфхцчшъэюяўқғҳ"),
}
# A letter outside a language's alphabet costs it this much (names and quotations bring
# stray letters, so it is evidence, not a gate), up to a cap per text.
_FOREIGN_LETTER_NATS = 3.0
_FOREIGN_LETTER_CAP = 12.0
_SAMPLE_WORDS = 60  # sixty words settle which Cyrillic language it is; more only cost time
_SAMPLE_CHARS = 600
# langdetect's say among its four Cyrillic languages: tempered, and never more than
# _LANGDETECT_CYRILLIC_NATS (it calls Bulgarian Russian with certainty). The languages it
# has no profile of get the best score it gives, so it can neither veto nor favour them.
_LANGDETECT_CYRILLIC_WEIGHT = 0.3
_LANGDETECT_CYRILLIC_NATS = 1.0
_FUNCTION_WORD_NATS = 2.0
# The region's news is mostly Ukrainian and Russian: a small prior for them.
_REGION_PRIOR = {"uk": 1.0, "ru": 1.0}
# Cyrillic scores are sums of log-likelihoods of letters that are not independent; this
# tempering turns them into probabilities that hold on held-out text (README).
_CYRILLIC_TEMPERATURE = 0.3
# Text in a language the letter models know scores -1.7 to -2.8 nats per letter under the
# best of them (held-out UDHR articles, lingua sentences); Cyrillic languages without a
# model (Yakut, Tuvan, Abkhaz, Kabardian, Karakalpak…) score -3.2 to -8. Below _FIT_NATS_PER_LETTER the
# confidence falls (halved 0.35 nats lower); too few letters say nothing either way.
_FIT_NATS_PER_LETTER = -3.25
_FIT_SLOPE = 2.0
_FIT_LETTERS = 20
# Confidence caps for text of 0, 1, 2, 3 words: whatever the scores say, so few words
# cannot be told with certainty (measured on lingua's word pairs and single words).
_MAX_SHORT_CONFIDENCE = (0.0, 0.5, 0.75, 0.9)
_NON_LATIN_LANGS = frozenset(
    {
        "ar", "bg", "bn", "el", "fa", "gu", "he", "hi", "ja", "kn", "ko", "mk",
        "ml", "mr", "ne", "pa", "ru", "ta", "te", "th", "uk", "ur", "zh-cn", "zh-tw",
    }
)  # fmt: skip

# Frequent words that, among the Cyrillic languages, one language uses and the others do
# not (or spell otherwise): words shared with a neighbour (и, но, как, от, може, много, …)
# are left out. Checked on the shared corpus's uk and ru news texts.
_UK_WORDS = frozenset(
    "це що як від він вона воно вони його її їх був була було були буде будуть "
    "треба нема немає також тощо ось щоб коли цей ця ці цього цих чи вже ще "
    "дуже зараз після під потрібно теж лише тільки навіть якщо мені саме таке "
    "такий нього неї який яка яке котрий своє тобто проте однак адже нині тепер досі "
    "поки та й щодо серед понад наразі задля усі всі чого проти січня лютого березня "
    "квітня травня червня липня серпня вересня жовтня листопада грудня".split()
)
_RU_WORDS = frozenset(
    "что это этот эта эти мы вы его ее её был было будет будут надо также тоже когда "
    "кто ещё еще очень сейчас может можно нужно только если мне меня тебя себя года лет "
    "такое такой такая ней нее который которая которое которые какой свое поэтому "
    "однако ведь сегодня пока теперь бы вот нет января февраля марта апреля июня июля "
    "августа сентября октября ноября декабря".split()
)
_BE_WORDS = frozenset("гэта што ён яна яны ад пад ды таксама калі ўжо яшчэ вельмі толькі праз пасля паміж каб".split())
# "е" (is) is both Bulgarian and Macedonian; Serbian writes "је", Russian and Ukrainian neither.
_BG_WORDS = frozenset("е че това като във със също тази които този тези някои сме сте след бяха тя трябва вече".split())
# "во" and "со" are Russian too, but rare there and Macedonian's commonest words.
_MK_WORDS = frozenset("е во со ќе тоа таа овој оваа нивните околу кај денес помеѓу истотака".split())
_SR_WORDS = frozenset("је који која које није био све веома износи су као године овај када током између".split())
_FUNCTION_WORDS = {"uk": _UK_WORDS, "ru": _RU_WORDS, "be": _BE_WORDS, "bg": _BG_WORDS, "mk": _MK_WORDS, "sr": _SR_WORDS}
# Word shapes a language never produces, evidence against it (same corpus check):
# Russian has no -ють verbs, -ння nouns or apostrophes inside words; Ukrainian no
# adjectives or nouns in -ая/-ое/-ие/-ия.
_NEVER_SHAPES = {
    "ru": re.compile(r"ють$|ння|\w['’ʼ]\w"),
    "uk": re.compile(r"\w\w(?:ая|ое|ие|ия)$"),
}
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_CYRILLIC_RUN = re.compile(f"{CYRILLIC.pattern}+")
# Latin letters that look like Cyrillic ones; Ukrainian web text often has a
# Latin "i" typed for "і" inside Cyrillic words.
_HOMOGLYPHS = str.maketrans("aceiopxyïABCEHIKMOPTXÏ", "асеіорхуїАВСЕНІКМОРТХЇ")

# How strongly the source's expected language is believed before reading the text (odds
# hint : another plausible language).
_HINT_ODDS = 4.0
# Cyrillic scores are tempered after the hint is added, which leaves odds of about 2.5 : 1:
# enough to settle a headline the letters leave open, never a sentence. On the tuning half
# of the benchmark, short bg/mk/ru text with the right hint went from 98.6/94.5/98.7 % at
# odds 4 to 99.7/97.7/99.4 %; with a wrong hint it lost 0.4-2 points.
_CYRILLIC_HINT_ODDS = 20.0
# Serbian is written in Latin script too, which langdetect (no Serbian profile) reads as
# Croatian: a source that says it publishes Serbian is believed on that.
_LATIN_SCRIPT_OF = {"sr": "hr"}
# langdetect's probabilities are overconfident on short text; temper them.
_LANGDETECT_WEIGHT = 0.5
_LANGDETECT_NATS_PER_WORD = 0.5


@dataclass(frozen=True, slots=True)
class LanguageResult:
    language: str
    confidence: float


def _profile_names() -> list[str]:
    return sorted(os.listdir(PROFILES_DIRECTORY))


# One langdetect model per script group. langdetect scores every loaded language
# for every n-gram it samples, so a model holding only the languages a script can
# be cuts the work (4 languages instead of 55 for Cyrillic) and the memory. Results
# are those of the full model restricted to the group: languages outside it
# would get a zero prior anyway.
_GROUPS = {
    "cyrillic": lambda: sorted(_LANGDETECT_CYRILLIC),
    "latin": lambda: [lang for lang in _profile_names() if lang not in _NON_LATIN_LANGS],
    "arabic": lambda: ["ar", "fa", "ur"],
    "devanagari": lambda: ["hi", "mr", "ne"],
}

# Other scripts: (first code point, last code point, language or langdetect group).
# Most are written by one language langdetect knows, so the script decides and
# the big CJK profiles never need loading. Han without kana is Chinese.
_SCRIPTS = sorted(
    [
        (0x0370, 0x03FF, "el"), (0x1F00, 0x1FFF, "el"), (0x0590, 0x05FF, "he"),
        (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"),
        (0x0900, 0x097F, "devanagari"), (0x0980, 0x09FF, "bn"), (0x0A00, 0x0A7F, "pa"), (0x0A80, 0x0AFF, "gu"),
        (0x0B80, 0x0BFF, "ta"), (0x0C00, 0x0C7F, "te"), (0x0C80, 0x0CFF, "kn"), (0x0D00, 0x0D7F, "ml"),
        (0x0E00, 0x0E7F, "th"), (0x1100, 0x11FF, "ko"), (0x3130, 0x318F, "ko"), (0xAC00, 0xD7AF, "ko"),
        (0x3040, 0x30FF, "ja"), (0x31F0, 0x31FF, "ja"), (0x3400, 0x4DBF, "zh"), (0x4E00, 0x9FFF, "zh"),
    ]
)  # fmt: skip
_SCRIPT_STARTS = [start for start, _, _ in _SCRIPTS]


@cache
def _factory(group: str) -> DetectorFactory:
    factory = DetectorFactory()
    profiles = []
    for lang in _GROUPS[group]():
        with open(os.path.join(PROFILES_DIRECTORY, lang), encoding="utf-8") as profile:
            profiles.append(profile.read())
    factory.load_json_profile(profiles)
    # Each n-gram's probabilities as one array of doubles rather than a list of float objects
    # (the same values: langdetect only indexes them): a worker reading a list wrote the reference
    # count of every float it touched, which copied the forkserver's pages into each worker (peak
    # PSS of a 1,000-page crawl 343 -> 323 MiB, benchmarks/README.md).
    factory.word_lang_prob_map = {gram: array("d", probs) for gram, probs in factory.word_lang_prob_map.items()}
    # A fixed seed makes langdetect's random n-gram sampling repeatable.
    factory.set_seed(0)
    return factory


def warm_up() -> None:
    """Load the Cyrillic and Latin language models now (~0.8 s) rather than on first use."""
    _factory("cyrillic")
    _factory("latin")
    warm_up_profiles()


def _langdetect(text: str, group: str) -> dict[str, float]:
    """langdetect's posterior over the ``group`` model."""
    detector = _factory(group).create()
    detector.append(text)
    try:
        detector.get_probabilities()
    except LangDetectException:
        return {}
    return {lang: p for lang, p in zip(detector.langlist, detector.langprob, strict=True) if p > 0}


def _script_counts(text: str) -> tuple[int, int, int]:
    cyrillic = latin = other = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if is_cyrillic(ch):
            cyrillic += 1
        elif ch < "\u0250":
            latin += 1
        else:
            other += 1
    return cyrillic, latin, other


def _latin_prose_letters(text: str) -> int:
    """Letters of the Latin words that do not start with a capital: names, brands and
    model numbers in Latin script inside Cyrillic prose are not prose."""
    return sum(len(word) for word in _WORD_RE.findall(text) if word[0] < "\u0250" and word[0].islower())


def _unmix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if any(is_cyrillic(ch) for ch in word) and not word.isascii():
        return word.translate(_HOMOGLYPHS)
    return word


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    """Log scores -> probabilities."""
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def _alphabet_penalty(words: list[str]) -> dict[str, float]:
    """Log-penalty per language for letters its alphabet lacks (ў is not Ukrainian, ы not Bulgarian)."""
    letters = Counter(ch for word in words for ch in word)
    penalties = {}
    for lang, alphabet in _ALPHABETS.items():
        foreign = sum(count for ch, count in letters.items() if ch not in alphabet)
        penalties[lang] = -min(_FOREIGN_LETTER_NATS * foreign, _FOREIGN_LETTER_CAP)
    return penalties


def _word_evidence(words: list[str]) -> dict[str, float]:
    """Log-odds from each language's own function words, less the shapes it never produces."""
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for lang, vocabulary in _FUNCTION_WORDS.items():
        scores[lang] += _FUNCTION_WORD_NATS * sum(1 for word in words if word in vocabulary)
    for lang, never in _NEVER_SHAPES.items():
        scores[lang] -= _FUNCTION_WORD_NATS * sum(1 for word in words if never.search(word))
    return scores


def _langdetect_say(text: str, n_words: int) -> dict[str, float]:
    """langdetect's capped log-posterior per Cyrillic language; neutral for those it cannot score."""
    floor = -min(_LANGDETECT_NATS_PER_WORD * max(n_words, 1), _LANGDETECT_CYRILLIC_NATS)
    detected = _langdetect(text, "cyrillic")
    known = {lang: max(_LANGDETECT_CYRILLIC_WEIGHT * math.log(p), floor) for lang, p in detected.items() if p > 0}
    neutral = max(known.values(), default=0.0)
    return {lang: known.get(lang, floor if lang in _LANGDETECT_CYRILLIC else neutral) for lang in LANGUAGES}


def _cyrillic(text: str, hint: str | None) -> dict[str, float]:
    """Probabilities over every Cyrillic language (each a candidate, no hint needed)."""
    text = _WORD_RE.sub(_unmix_word, text)
    words = [word for word in _WORD_RE.findall(text.lower()) if is_cyrillic(word[0])]
    sample = words[:_SAMPLE_WORDS]
    # The letter models and the alphabets know Cyrillic letters only: apostrophes (м'ясо) and
    # Latin glued to a word split it (an apostrophe counted as a foreign letter cost every
    # language alike, and four of them used up every language's alphabet evidence).
    runs = [run for word in sample for run in _CYRILLIC_RUN.findall(word)]
    letter_scores = ngram_loglik(runs)
    evidence = (
        letter_scores,
        _alphabet_penalty(runs),
        _word_evidence(sample),
        _langdetect_say(text[:_SAMPLE_CHARS], len(sample)),
        _REGION_PRIOR,
    )
    scores = {lang: sum(part.get(lang, 0.0) for part in evidence) for lang in LANGUAGES}
    if hint in scores:
        scores[hint] += math.log(_CYRILLIC_HINT_ODDS)
    probs = _normalise({lang: _CYRILLIC_TEMPERATURE * score for lang, score in scores.items()})
    fit = _fit(max(letter_scores.values(), default=0.0), sum(len(run) for run in runs))
    return {lang: p * fit for lang, p in _cap_short(probs, len(words)).items()}


def _fit(loglik: float, letters: int) -> float:
    """How far the best letter model can be believed: text that none of them fits (Yakut,
    Tuvan, Abkhaz…) is in a language the crawler does not know, whichever candidate scores
    highest, so its confidence falls with the misfit."""
    if letters < _FIT_LETTERS:
        return 1.0
    return min(1.0, math.exp(_FIT_SLOPE * (loglik / letters - _FIT_NATS_PER_LETTER)))


def _cap_short(probs: dict[str, float], n_words: int) -> dict[str, float]:
    """A few words cannot be told with certainty, whatever the scores say (README, "Language detection")."""
    if n_words >= len(_MAX_SHORT_CONFIDENCE):
        return probs
    cap = _MAX_SHORT_CONFIDENCE[n_words]
    return {lang: min(p, cap) for lang, p in probs.items()}


def _latin(text: str, hint: str | None) -> dict[str, float]:
    """Tempered langdetect posterior x hint prior over the Latin-script languages."""
    if hint in _LATIN_SCRIPT_OF:
        probs = _latin(text, _LATIN_SCRIPT_OF[hint])
        probs[hint] = probs.pop(_LATIN_SCRIPT_OF[hint], 0.0)
        return probs
    detected = _langdetect(text, "latin")
    # langdetect converges to ~1.0 even on two words; bound what it can say by
    # how much text it has seen, so the hint counts on short text.
    floor = -_LANGDETECT_NATS_PER_WORD * max(len(_WORD_RE.findall(text)), 1)
    scores = {}
    for lang in _factory("latin").langlist:
        p = detected.get(lang, 0.0)
        scores[lang] = max(_LANGDETECT_WEIGHT * math.log(p), floor) if p > 0 else floor
        if lang == hint:
            scores[lang] += math.log(_HINT_ODDS)
    return _normalise(scores)


def _other_script(text: str, letters: int) -> dict[str, float]:
    """Languages of the non-Latin, non-Cyrillic scripts, mostly told by the script alone."""
    counts: dict[str, int] = {}
    for ch in text:
        code = ord(ch)
        index = bisect.bisect_right(_SCRIPT_STARTS, code) - 1
        if index >= 0 and code <= _SCRIPTS[index][1] and ch.isalpha():
            key = _SCRIPTS[index][2]
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return {}
    if counts.get("ja") and counts.get("zh"):
        # Japanese mixes kanji (Han) with kana.
        counts["ja"] += counts.pop("zh")
    key, count = max(counts.items(), key=lambda kv: kv[1])
    if key in _GROUPS:
        return _langdetect(text, key)
    return {key: min(count / max(letters, 1), 1.0)}


def detect_language(text: str, hint: str | None = None, max_chars: int = 3000) -> LanguageResult:
    """Detect the language of ``text``; ``hint`` is the language the source usually publishes in."""
    sample = unicodedata.normalize("NFC", text[:max_chars])
    cyrillic, latin, other = _script_counts(sample)
    if cyrillic + latin + other == 0:
        return LanguageResult(hint or UNKNOWN, 0.0)
    if cyrillic and latin > cyrillic:
        latin = _latin_prose_letters(sample)
    if cyrillic >= latin and cyrillic >= other:
        probs = _cyrillic(sample, hint)
    elif latin >= other:
        probs = _latin(sample, hint)
    else:
        probs = _other_script(sample, other)
    if not probs:
        return LanguageResult(hint or UNKNOWN, 0.0)
    lang, prob = max(probs.items(), key=lambda kv: kv[1])
    # langdetect uses zh-cn / zh-tw; ISO 639-1 is "zh".
    return LanguageResult(lang.split("-")[0], round(prob, 4))
