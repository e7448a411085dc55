"""htmldate's parser of dates written in words, limited to the languages news is read in.

htmldate falls back on dateparser for a date its own patterns miss ("12 березня 2024").
It builds that parser with every one of dateparser's 200 languages, and a string no
language claims makes dateparser load and compile all of them: 41 MiB and 1.4 s in every
extraction process, paid before the first page (crawler/workers/preload.py). The 30
languages dateparser itself ranks first, with every Cyrillic language it has, take 15 MiB
and 0.6 s, and date the corpus's Media Cloud, fundus and newspaper4k pages exactly as all
200 do (87.7 %, 99.5 % and 88.6 % right, ``python benchmarks/extraction_quality.py``).
A page in another language still gets its date from its metadata, JSON-LD, <time> tags,
URL and htmldate's own patterns; only dates written out in words in it are missed.

The parser is swapped in where htmldate looks it up (``htmldate.extractors``), with
htmldate's own settings; an htmldate without that function keeps its own parser.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from crawler.parsing.cyrillic_profiles import CYRILLIC_LANGUAGES

__all__ = ["RANKED_LANGUAGES", "install", "languages", "warm_up"]

logger = logging.getLogger(__name__)

# How many of dateparser's languages, in its own order (by use on the web), are kept.
RANKED_LANGUAGES = 30

# htmldate 1.x's settings for its external parser (htmldate/extractors.py).
_SETTINGS = {
    "NORMALIZE": True,
    "PARSERS": ["custom-formats", "absolute-time"],
    "PREFER_DATES_FROM": "past",
    "PREFER_LOCALE_DATE_ORDER": True,
    "RETURN_AS_TIMEZONE_AWARE": False,
    "STRICT_PARSING": True,
}


def languages() -> list[str]:
    """dateparser's first RANKED_LANGUAGES languages, then the Cyrillic ones it knows."""
    from dateparser.data.languages_info import language_order

    known = [code for code in language_order if "-" not in code]  # languages, not their locales
    chosen = known[:RANKED_LANGUAGES] + sorted(code for code in known if code in CYRILLIC_LANGUAGES)
    return list(dict.fromkeys(chosen))


@cache
def _parser() -> Any:
    from dateparser import DateDataParser

    return DateDataParser(languages=languages(), settings=_SETTINGS)


def install() -> bool:
    """Make htmldate use the limited parser; whether it could."""
    try:
        import htmldate.extractors as extractors
    except ImportError:  # pragma: no cover - htmldate comes with trafilatura
        return False
    if not callable(getattr(extractors, "get_external_parser", None)):
        logger.warning("htmldate has no get_external_parser: dates in words are parsed in every language")
        return False
    extractors.get_external_parser = _parser
    return True


def warm_up() -> None:
    """Load the kept languages' data and compile their patterns now: in the forkserver, once
    for every worker. The last string matches none of them, so each is tried once."""
    parser = _parser()
    for text in ("12 березня 2024", "12 марта 2024", "March 12, 2024", "12 qqq 2024"):
        try:
            parser.get_date_data(text)
        except (ValueError, OverflowError) as exc:  # dateparser's own refusals
            logger.debug("date warm-up %r: %s", text, exc)
