"""Whether a delivered article's page is gone, and when that is confirmed.

Gone means one of what sites do when they take an article down:

* it answers 404, 410 or 451 (unavailable for legal reasons: taken down by order);
* it redirects to the outlet's front page or to a section page (a path that is a prefix of the
  article's, or one of the source's own feed, sitemap or listing pages);
* it answers 200 with a "not found" page: no article in it, or one that has nothing in common
  with the text delivered, under a title or headline that says so (in Russian, Ukrainian,
  English and the other languages of the region), or at a URL that says 404.

5xx, timeouts, refusals and robots.txt never mean gone: such a check tells nothing, and the page
is asked again. A page seen gone once is only *suspected*; it is reported removed when a second
check, at least ``confirm_after`` later, finds it gone too. A page that answers with its
article in between was never removed, and nothing is reported.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

__all__ = ["GoneReason", "Verdict", "gone_reason", "looks_not_found", "weigh_check"]


class GoneReason(StrEnum):
    HTTP_404 = "http_404"
    HTTP_410 = "http_410"
    # Taken down by a court or a regulator (Roskomnadzor's orders are answered so).
    HTTP_451 = "http_451"
    REDIRECT_HOME = "redirect_home"
    SOFT_404 = "soft_404"


class Verdict(StrEnum):
    PRESENT = "present"  # it answered with its article
    SUSPECTED = "suspected"  # gone, for the first time: checked again later
    WAITING = "waiting"  # gone again, but too soon after the first check to confirm
    CONFIRMED = "confirmed"  # gone at two checks far enough apart: reported once
    STILL_REMOVED = "still_removed"  # reported before, still gone: nothing to say


DESCRIPTIONS = {
    GoneReason.HTTP_404: "the page answers 404 Not Found",
    GoneReason.HTTP_410: "the page answers 410 Gone",
    GoneReason.HTTP_451: "the page answers 451 Unavailable For Legal Reasons",
    GoneReason.REDIRECT_HOME: "the page redirects to the front or a section page",
    GoneReason.SOFT_404: "the page answers 200 with a 'not found' page",
}

# Titles and headlines of "not found" pages, in the languages the outlets write in.
# Titles and headlines of "not found" pages, in the languages the outlets write in. "Removed"
# counts only with what was removed (a page, an article): news headlines say "видалено" too.
_NOT_FOUND = re.compile(
    r"\b404\b|not\s+found|page\s+(?:does\s+not|doesn.t)\s+exist|no\s+longer\s+available"
    r"|(?:page|article|story|content)\s+(?:has\s+been|was)\s+(?:removed|deleted)"
    r"|не\s+найден|не\s+существует|не\s+знайден|не\s+існує|нет\s+такой\s+страниц|немає\s+такої\s+сторінк"
    r"|(?:страниц[аы]|материал|стать[яи]|новост[ьи]|публикаци[яи]|запись)\s+(?:был[аи]?\s+)?удален"
    r"|(?:сторінк[аиу]|матеріал|статт[яі]|новин[аиу]|публікаці[яі]|запис)\s+(?:бул[аои]?\s+)?видален"
    r"|страница\s+не\s+доступна|сторінка\s+недоступна|nie\s+znaleziono|не\s+е\s+намерена"
    r"|не\s+пронађен|не\s+знойдзен|ошибка\s+404|помилка\s+404",
    re.IGNORECASE,
)
_NOT_FOUND_PATH = re.compile(r"(?:^|/)(?:404|not-?found|error|page-not-found)(?:[./]|$)", re.IGNORECASE)


def looks_not_found(*texts: str | None) -> bool:
    return any(text and _NOT_FOUND.search(text) for text in texts)


def _path(url: str) -> list[str]:
    return [part for part in urlsplit(url).path.split("/") if part]


def _section_of(final: str, original: str, roots: tuple[str, ...]) -> bool:
    """Whether ``final`` is the site's front page, a page shallower than ``original`` (a section
    or rubric), or one of the source's roots; the caller has seen that it is not the article."""
    final_parts, original_parts = _path(final), _path(original)
    if urlsplit(final).query and urlsplit(final)._replace(query="").geturl() == original.split("?")[0]:
        return False
    if len(final_parts) <= 1 and (not final_parts or len(final_parts[0]) <= 5):
        return True  # "/", "/ru/", "/uk"
    if len(final_parts) < len(original_parts):
        return True  # a section above it, or elsewhere (a rubric, a tag page): never an article's own

    bare = final.split("#")[0].rstrip("/")
    return any(bare == root.split("#")[0].rstrip("/") for root in roots)


def gone_reason(
    status: int, requested: str, final: str, redirected: bool, roots: tuple[str, ...] = (),
    article_found: bool = True, same_text: bool = True, *signs: str | None,
) -> GoneReason | None:  # fmt: skip
    """What the answer to a check says, or None when it does not say the page is gone.

    ``article_found``: extraction found an article; ``same_text``: it shares text with the one
    delivered; ``signs``: where a "not found" page says so (its <title>, its first <h1>, the
    start of a short text extracted from it)."""
    if status == 404:
        return GoneReason.HTTP_404
    if status == 410:
        return GoneReason.HTTP_410
    if status == 451:
        return GoneReason.HTTP_451
    if status != 200:
        return None
    if article_found and same_text:
        return None
    if redirected and _NOT_FOUND_PATH.search(urlsplit(final).path):
        return GoneReason.SOFT_404  # sent to the site's error page
    if redirected and _section_of(final, requested, roots):
        return GoneReason.REDIRECT_HOME
    if looks_not_found(*signs):
        return GoneReason.SOFT_404
    return None


def weigh_check(
    gone: GoneReason | None, suspected_at: float | None, removed: bool, now: float, confirm_after: float
) -> Verdict:
    """What a check that found ``gone`` (None: the article) means, given what was known before."""
    if gone is None:
        return Verdict.PRESENT
    if removed:
        return Verdict.STILL_REMOVED
    if suspected_at is None:
        return Verdict.SUSPECTED
    return Verdict.CONFIRMED if now - suspected_at >= confirm_after else Verdict.WAITING
