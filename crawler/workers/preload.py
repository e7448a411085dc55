"""Imported once in the extraction forkserver: everything a worker needs, warm.

Workers fork from that process, so the imports, trafilatura's configuration,
langdetect's profiles and the modules and caches trafilatura and htmldate only
load on first use are there once and shared (copy-on-write) by all workers,
instead of being loaded again by each.
"""

import contextlib
import gc

from crawler.parsing import article as extraction
from crawler.parsing import date_words, language
from crawler.workers.memory import tune_malloc

tune_malloc()

_SAMPLES = (
    (
        "uk",
        "Уряд ухвалив рішення",
        "12 березня 2024, 10:15",
        "Уряд України оголосив про нові заходи підтримки економіки після засідання.",
    ),
    (
        "ru",
        "Правительство приняло решение",
        "12 марта 2024 года",
        "Правительство России объявило о новых мерах поддержки экономики страны.",
    ),
    (
        "en",
        "Government takes a decision",
        "March 12, 2024 10:15 AM",
        "The government announced new measures to support the economy on Tuesday.",
    ),
)


def _warm() -> None:
    extraction.warm_up()
    language.warm_up()
    with contextlib.suppress(ImportError):
        # trafilatura's sitename fallback asks courlan for the domain, which loads
        # the public-suffix list on first use.
        from courlan import extract_domain

        extract_domain("https://www.example.co.uk/news/1.html")
    for lang, title, date, sentence in _SAMPLES:
        paragraphs = "".join(f"<p>{sentence} ({n})</p>" for n in range(8))
        html = (
            f"<html lang='{lang}'><head><title>{title} | Site</title>"
            "<meta property='og:title' content='x'><meta name='author' content='A B'>"
            f'<script type=\'application/ld+json\'>{{"@type": "NewsArticle", "headline": "{title}"}}</script>'
            f"</head><body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>"
            f"<time>{date}</time>{paragraphs}<table><tr><td>1</td></tr></table></article>"
            "<footer>© 2024</footer></body></html>"
        )
        # Fingerprints are warmed by crawler/stories/fingerprint_warmup.py, when stories are on.
        extraction.extract_article(
            html.encode(), extraction.ExtractionOptions(url="https://warm.example.org/news/1.html", fingerprint=False)
        )
    # The full cascade (readability, jusText and its stop lists for every language) runs on
    # a few pages in a hundred; loaded here, it is shared instead of private to each worker.
    extraction.warm_up_fallback()


def _warm_dates() -> None:
    """Load dateparser's data for the languages htmldate may parse dates in words in
    (crawler/parsing/date_words.py), here, once, shared by every worker: each would
    otherwise load and compile it for itself."""
    date_words.warm_up()


_warm()
_warm_dates()
# Keep the garbage collector from touching (and so un-sharing) what was loaded.
gc.freeze()
