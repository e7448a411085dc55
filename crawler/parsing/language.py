"""Language identification: langdetect, made deterministic and told about Cyrillic.

langdetect alone confuses Ukrainian, Russian, Bulgarian and Macedonian on short
text. Two pieces of evidence fix most of that cheaply:

* the choice is restricted to languages written in the text's script, and for
  Cyrillic to the languages a Ukrainian/Russian news feed plausibly carries;
* letters that only one of Ukrainian and Russian has (і ї є ґ vs ы э ъ ё) are
  scored with a per-letter likelihood model and combined with langdetect's
  posterior and the source's expected language.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from crawler.parsing.chars import is_cyrillic
from crawler.parsing.cyrillic_profiles import LANGUAGES, ngram_loglik

__all__ = ["LanguageResult", "detect_language", "warm_up"]

UNKNOWN = "und"

# langdetect's Cyrillic profiles, and every Cyrillic-script language the crawler tells apart
# (crawler/parsing/cyrillic_profiles.py has n-gram profiles of all of them).
_LANGDETECT_CYRILLIC = frozenset({"uk", "ru", "bg", "mk"})
_CYRILLIC_LANGS = _LANGDETECT_CYRILLIC
_CYRILLIC_CANDIDATES = frozenset(LANGUAGES)
_ALPHABETS = {
    "uk": frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"),
    "ru": frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
    "be": frozenset("абвгдеёжзійклмнопрстуўфхцчшыьэюя"),
    "bg": frozenset("абвгдежзийклмнопрстуфхцчшщъьюя"),
    "mk": frozenset("абвгдѓежзѕијклљмнњопрстќуфхцчџш"),
    "sr": frozenset("абвгдђежзијклљмнњопрстћуфхцчџш"),
    "kk": frozenset("аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"),
}
_LANGDETECT_CYRILLIC_NATS = 2.0
_ALL_CYRILLIC_WORDS = 60
_ALL_CYRILLIC_CHARS = 600
# How sure the all-Cyrillic model must be before a language other than uk/ru is chosen.
_OTHER_LANGUAGE_PROBABILITY = {False: 0.93, True: 0.98}  # without / with a uk or ru hint
_FOREIGN_LETTER_NATS = 3.0
_FOREIGN_LETTER_CAP = 12.0
# Character n-grams are not independent: their log-likelihood is tempered.
_NGRAM_WEIGHT = 0.35
# Confidence caps for text of 0, 1, 2, … words (measured on lingua's word pairs and
# single words: below these lengths even the best answer is wrong often enough).
_SURE_WORDS = 8
_MAX_SHORT_CONFIDENCE = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94)
_NON_LATIN_LANGS = frozenset(
    {
        "ar", "bg", "bn", "el", "fa", "gu", "he", "hi", "ja", "kn", "ko", "mk",
        "ml", "mr", "ne", "pa", "ru", "ta", "te", "th", "uk", "ur", "zh-cn", "zh-tw",
    }
)  # fmt: skip

# Frequent function words that occur in one of the two languages only
# (checked on the uk and ru long news texts of the shared corpus: each appears
# there in its own language and never, or almost never, in the other).
_UK_WORDS = frozenset(
    "це що але як від він вона воно вони його її їх був була було були буде будуть "
    "треба нема немає також тощо ось щоб коли хто цей ця ці цього цих бо чи вже ще "
    "дуже зараз після під між може можна потрібно теж лише тільки навіть якщо або "
    "мене мені з із зі саме таке такий така нього неї який яка яке які котрий своє "
    "тобто проте однак адже нині тепер досі поки".split()
)
_RU_WORDS = frozenset(
    "что это этот эта эти она оно они мы вы его ее её их был была было были будет "
    "будут надо также тоже где когда кто как но и ещё еще очень сейчас после под "
    "между может можно нужно только даже если или мне меня тебя себя со из года лет "
    "такое такой такая ней него нее который которая которое которые какой свое моя "
    "поэтому однако ведь сегодня вчера пока теперь ни бы ли вот".split()
)
# Function words of the South Slavic languages that the others do not use (or spell otherwise).
_BG_WORDS = frozenset("че това като от са във със също много тази които този тези някои ще".split())
_MK_WORDS = frozenset("во со ќе кои беше тоа таа овој оваа нивните според околу".split())
_SR_WORDS = frozenset("је у који која које није био била били све веома код износи који".split())
# Word shapes one of the two languages never produces (same corpus check):
# uk -ють verbs, -ння nouns and apostrophes inside words; ru -ая/-ое/-ие/-ия endings.
_UK_SHAPES = re.compile(r"ють$|ння|\w['’ʼ]\w|\w\w[аиія]ти$")
_RU_SHAPES = re.compile(r"\w\w(?:ая|ое|ие|ия)$")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
# Latin letters that look like Cyrillic ones; Ukrainian web text often has a
# Latin "i" typed for "і" inside Cyrillic words.
_UK_LETTERS = frozenset("іїєґ")
_RU_LETTERS = frozenset("ыэъё")
_FUNCTION_WORDS = {"uk": _UK_WORDS, "ru": _RU_WORDS, "bg": _BG_WORDS, "mk": _MK_WORDS, "sr": _SR_WORDS}
_SHAPES = {"uk": _UK_SHAPES, "ru": _RU_SHAPES}
_HOMOGLYPHS = str.maketrans("aceiopxyïABCEHIKMOPTXÏ", "асеіорхуїАВСЕНІКМОРТХЇ")

# Share of Cyrillic letters that are uk-only / ru-only letters in running text.
# Measured on news prose (Leipzig corpora): Ukrainian ~7.3 % of letters are
# і/ї/є/ґ, Russian ~2.5 % are ы/э/ъ/ё. "Foreign" rates allow for quotations,
# names and typos so one stray letter is evidence, not proof.
_RATE_OWN = {"uk": 0.073, "ru": 0.025}
_RATE_FOREIGN = 0.0008

# How strongly the source's expected language is believed before reading the
# text (odds hint : other plausible language).
_HINT_ODDS = 4.0
# langdetect's probabilities are overconfident on short text; temper them.
_LANGDETECT_WEIGHT = 0.5
_LANGDETECT_NATS_PER_WORD = 0.5
# Log-odds added per uk-only / ru-only function word.
_WORD_LOG_ODDS = math.log(30)


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
    "cyrillic": lambda: sorted(_CYRILLIC_LANGS),
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
    # A fixed seed makes langdetect's random n-gram sampling repeatable.
    factory.set_seed(0)
    return factory


def warm_up() -> None:
    """Load the Cyrillic and Latin language models now (~0.3 s) rather than on first use."""
    _factory("cyrillic")
    _factory("latin")


def _langdetect(text: str, group: str, candidates: dict[str, float] | None = None) -> dict[str, float]:
    """langdetect's posterior over the ``group`` model, restricted to ``candidates`` (a prior map) if given."""
    factory = _factory(group)
    detector = factory.create()
    if candidates is not None:
        known = {lang: p for lang, p in candidates.items() if lang in factory.langlist}
        if not known:
            return {}
        detector.set_prior_map(known)
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


def _unmix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if any(is_cyrillic(ch) for ch in word) and not word.isascii():
        return word.translate(_HOMOGLYPHS)
    return word


def _uk_ru_loglik(words: list[str], cyrillic: int) -> dict[str, float]:
    """Log-likelihood of the uk-only / ru-only letters and words under uk and ru."""
    uk_letters = sum(1 for word in words for ch in word if ch in _UK_LETTERS)
    ru_letters = sum(1 for word in words for ch in word if ch in _RU_LETTERS)
    rest = max(cyrillic - uk_letters - ru_letters, 0)
    uk_words = sum(1 for word in words if word in _UK_WORDS or _UK_SHAPES.search(word))
    ru_words = sum(1 for word in words if word in _RU_WORDS or _RU_SHAPES.search(word))
    result = {}
    for lang in ("uk", "ru"):
        p_uk = _RATE_OWN["uk"] if lang == "uk" else _RATE_FOREIGN
        p_ru = _RATE_OWN["ru"] if lang == "ru" else _RATE_FOREIGN
        score = uk_letters * math.log(p_uk) + ru_letters * math.log(p_ru)
        score += rest * math.log(1 - p_uk - p_ru)
        score += _WORD_LOG_ODDS * (uk_words if lang == "uk" else ru_words)
        result[lang] = score
    return result


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    """Log scores -> probabilities."""
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def _combine(
    detected: dict[str, float],
    candidates: set[str],
    hint: str | None,
    n_words: int,
    evidence: dict[str, float] | None = None,
) -> dict[str, float]:
    """Tempered langdetect posterior x extra evidence x hint prior, over ``candidates``."""
    # langdetect converges to ~1.0 even on two words; bound what it can say by
    # how much text it has seen, so the hint and letter evidence count on short text.
    floor = -_LANGDETECT_NATS_PER_WORD * max(n_words, 1)
    scores = {}
    for lang in candidates:
        p = detected.get(lang, 0.0)
        score = max(_LANGDETECT_WEIGHT * math.log(p), floor) if p > 0 else floor
        if evidence is not None:
            score += evidence[lang]
        if lang == hint:
            score += math.log(_HINT_ODDS)
        scores[lang] = score
    return _normalise(scores)


def _alphabet_penalty(words: list[str]) -> dict[str, float]:
    """Log-penalty per language for letters its alphabet lacks (ў is not Ukrainian, ы not
    Bulgarian): strong evidence, not a gate, since names and quotations bring stray letters."""
    letters = Counter(ch for word in words for ch in word if is_cyrillic(ch))
    penalties = {}
    for lang, alphabet in _ALPHABETS.items():
        foreign = sum(count for ch, count in letters.items() if ch not in alphabet)
        penalties[lang] = -min(_FOREIGN_LETTER_NATS * foreign, _FOREIGN_LETTER_CAP)
    return penalties


def _function_words(words: list[str]) -> dict[str, float]:
    """Log-odds for each language from its own function words and word shapes."""
    scores = {}
    for lang, vocabulary in _FUNCTION_WORDS.items():
        shapes = _SHAPES.get(lang)
        hits = sum(1 for word in words if word in vocabulary or (shapes is not None and shapes.search(word)))
        scores[lang] = _WORD_LOG_ODDS * hits
    return scores


def _all_cyrillic(text: str, words: list[str], hint: str | None) -> dict[str, float]:
    """Scores over every Cyrillic language: n-grams, alphabets, function words, langdetect."""
    candidates = set(_CYRILLIC_CANDIDATES)
    detected = _langdetect(text, "cyrillic")
    ngrams = ngram_loglik(words)
    alphabet = _alphabet_penalty(words)
    by_words = _function_words(words)
    # langdetect has no Belarusian, Serbian or Kazakh profile: for those, its say is neutral
    # (the best score it gives any language), so that it can neither veto nor favour them.
    # Among the Cyrillic languages langdetect alone is often confidently wrong (Bulgarian
    # read as Russian): its say is capped at _LANGDETECT_CYRILLIC_NATS.
    floor = -min(_LANGDETECT_NATS_PER_WORD * max(len(words), 1), _LANGDETECT_CYRILLIC_NATS)
    known = {lang: max(_LANGDETECT_WEIGHT * math.log(p), floor) for lang, p in detected.items() if p > 0}
    neutral = max(known.values(), default=0.0)
    scores = {}
    for lang in candidates:
        score = known.get(lang, neutral if lang not in _LANGDETECT_CYRILLIC else floor)
        score += _NGRAM_WEIGHT * ngrams.get(lang, min(ngrams.values(), default=0.0))
        score += alphabet.get(lang, 0.0) + by_words.get(lang, 0.0)
        if lang == hint:
            score += math.log(_HINT_ODDS)
        scores[lang] = score
    return _normalise(scores)


def _uk_or_ru(text: str, words: list[str], cyrillic: int, hint: str | None) -> dict[str, float]:
    """Ukrainian against Russian (and a Cyrillic hint): langdetect's own profiles with the
    uk-only / ru-only letters and words, which tell these two apart better than anything else."""
    candidates = {"uk", "ru"}
    if hint in _LANGDETECT_CYRILLIC:
        candidates.add(hint)
    detected = _langdetect(text, "cyrillic", dict.fromkeys(candidates, 1.0))
    loglik = _uk_ru_loglik(words, cyrillic)
    evidence = {lang: loglik.get(lang, loglik["ru"]) for lang in candidates}
    return _combine(detected, candidates, hint, len(words), evidence)


def _cyrillic(text: str, cyrillic: int, hint: str | None) -> dict[str, float]:
    """Every Cyrillic language is a candidate; the answer leaves Ukrainian and Russian only when
    the all-Cyrillic model is sure of another (the region's news is mostly uk and ru)."""
    text = _WORD_RE.sub(_unmix_word, text)
    words = _WORD_RE.findall(text.lower())
    # Sixty words settle which Cyrillic language it is; more only cost time (long articles).
    everyone = _all_cyrillic(text[:_ALL_CYRILLIC_CHARS], words[:_ALL_CYRILLIC_WORDS], hint)
    best, p_best = max(everyone.items(), key=lambda kv: kv[1])
    # A source that says it publishes in uk or ru is believed unless the evidence is very strong.
    needed = _OTHER_LANGUAGE_PROBABILITY[hint in ("uk", "ru")]
    if best not in ("uk", "ru") and p_best >= needed:
        return _calibrate(everyone, len(words))
    return _calibrate(_uk_or_ru(text, words, cyrillic, hint), len(words))


def _calibrate(probs: dict[str, float], n_words: int) -> dict[str, float]:
    """Short text cannot be told with certainty: at most _MAX_SHORT_CONFIDENCE below
    _SURE_WORDS words, whatever the scores say (README, "Language detection")."""
    if n_words >= _SURE_WORDS:
        return probs
    cap = _MAX_SHORT_CONFIDENCE[min(n_words, len(_MAX_SHORT_CONFIDENCE) - 1)]
    return {lang: min(p, cap) for lang, p in probs.items()}


def _latin(text: str, hint: str | None) -> dict[str, float]:
    langs = set(_factory("latin").langlist)
    detected = _langdetect(text, "latin")
    return _combine(detected, langs, hint, len(_WORD_RE.findall(text)))


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
    if cyrillic >= latin and cyrillic >= other:
        probs = _cyrillic(sample, cyrillic, hint)
    elif latin >= other:
        probs = _latin(sample, hint)
    else:
        probs = _other_script(sample, other)
    if not probs:
        return LanguageResult(hint or UNKNOWN, 0.0)
    lang, prob = max(probs.items(), key=lambda kv: kv[1])
    # langdetect uses zh-cn / zh-tw; ISO 639-1 is "zh".
    return LanguageResult(lang.split("-")[0], round(prob, 4))
