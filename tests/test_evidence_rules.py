"""The pure rules of evidence: what changed between revisions, when a page is gone, when a
check is due (crawler/evidence)."""

from __future__ import annotations

import pytest

from crawler.config.windows import parse_revisits
from crawler.evidence.changes import FoundBy, change_line, edit_change, paragraph_changes
from crawler.evidence.removal import GoneReason, Verdict, gone_reason, weigh_check
from crawler.evidence.schedule import RevisitSchedule
from crawler.spiders.revisits import same_text

HOUR = 3600.0


def test_a_paragraph_inserted_at_the_top_changes_no_other() -> None:
    before = "Перший абзац.\nДругий абзац.\nТретій абзац."
    after = "Новий вступ.\nПерший абзац.\nДругий абзац.\nТретій абзац."
    found = paragraph_changes(before, after)
    assert found.added == ((1, "Новий вступ."),) and not found.changed and not found.removed


def test_changed_removed_and_added_paragraphs_with_their_places() -> None:
    before = "А один.\nБ два.\nВ три.\nГ чотири."
    after = "А один.\nБ два, уточнено.\nГ чотири.\nД п'ять."
    found = paragraph_changes(before, after).as_dict()
    assert found["changed"] == [{"index": 2, "before": "Б два.", "after": "Б два, уточнено."}]
    assert found["removed"] == [{"index": 3, "text": "В три."}]
    assert found["added"] == [{"index": 4, "text": "Д п'ять."}]


def test_spaces_alone_are_no_change() -> None:
    assert paragraph_changes("a  b\n\nc", "a b\nc").as_dict() == {"added": [], "removed": [], "changed": []}


def test_edit_change_and_its_digest_line() -> None:
    previous = {"title": "Загинули 12 людей", "text": "Перший.\nДругий.", "content_hash": "h1"}
    current = {"title": "Загинули 14 людей", "text": "Перший.\nДругий змінено.", "revision": 3}
    change = edit_change(previous, current, FoundBy.REVISIT, "2026-12-03T14:20:05Z")
    assert change["previous_content_hash"] == "h1" and change["previous_revision"] == 2
    assert change["title"] == {"before": "Загинули 12 людей", "after": "Загинули 14 людей"}
    line = change_line(change)
    assert (
        line
        == "Edited without notice at 2026-12-03 14:20 UTC: headline changed from “Загинули 12 людей”; paragraph 2 changed"
    )
    assert change_line(edit_change(None, current, FoundBy.ANNOUNCED, "2026-12-03T14:20:05Z")).startswith(
        "Edited (announced by the site) at"
    )


@pytest.mark.parametrize(
    ("status", "final", "redirected", "found", "same", "title", "expected"),
    [
        (404, "/a/news/1.html", False, False, False, None, GoneReason.HTTP_404),
        (410, "/a/news/1.html", False, False, False, None, GoneReason.HTTP_410),
        (200, "/", True, True, False, None, GoneReason.REDIRECT_HOME),
        (200, "/ru/", True, False, False, None, GoneReason.REDIRECT_HOME),
        (200, "/a/news/", True, True, False, None, GoneReason.REDIRECT_HOME),  # its section
        (200, "/politics/", True, True, False, None, GoneReason.REDIRECT_HOME),  # a rubric elsewhere
        (200, "/news/1-slug.html", True, True, True, None, None),  # shallower, but the same article
        (451, "/a/news/1.html", False, False, False, None, GoneReason.HTTP_451),
        (200, "/a/news/1-new-slug.html", True, True, True, None, None),  # moved, same text
        (200, "/a/news/1.html", False, False, False, "Страница не найдена — Вести", GoneReason.SOFT_404),
        (200, "/a/news/1.html", False, False, False, "Сторінку не знайдено", GoneReason.SOFT_404),
        (200, "/404.html", True, False, False, "Вести", GoneReason.SOFT_404),
        (200, "/a/news/1.html", False, False, False, "Вести", None),  # no article, no sign: no verdict
        (200, "/a/news/1.html", False, True, True, "404 солдата вернулись домой", None),  # the article itself
        (
            200,
            "/a/news/1.html",
            False,
            True,
            False,
            "Статья удалена по требованию правообладателя",
            GoneReason.SOFT_404,
        ),
        (200, "/a/news/1.html", False, True, False, "Зеленський видалено пост", None),  # news, not a not-found page
        (503, "/a/news/1.html", False, False, False, None, None),
        (403, "/a/news/1.html", False, False, False, "404", None),
        (429, "/a/news/1.html", False, False, False, None, None),
    ],
)
def test_what_counts_as_gone(
    status: int, final: str, redirected: bool, found: bool, same: bool, title: str | None, expected: GoneReason | None
) -> None:
    base = "https://site.example"
    got = gone_reason(
        status, base + "/a/news/1.html", base + final, redirected, (base + "/rss.xml",), found, same, title
    )
    assert got == expected


def test_removal_needs_two_checks_an_hour_apart() -> None:
    assert weigh_check(GoneReason.HTTP_404, None, False, 1000.0, HOUR) == Verdict.SUSPECTED
    assert weigh_check(GoneReason.HTTP_404, 1000.0, False, 1000.0 + HOUR / 2, HOUR) == Verdict.WAITING
    assert weigh_check(GoneReason.SOFT_404, 1000.0, False, 1000.0 + HOUR, HOUR) == Verdict.CONFIRMED
    assert weigh_check(GoneReason.HTTP_404, 1000.0, True, 9e9, HOUR) == Verdict.STILL_REMOVED
    assert weigh_check(None, 1000.0, False, 9e9, HOUR) == Verdict.PRESENT


def test_schedule_asks_once_per_age_and_a_late_cron_once() -> None:
    schedule = RevisitSchedule((HOUR, 6 * HOUR, 24 * HOUR, 72 * HOUR))
    assert schedule.next_check(0, 10) == HOUR
    assert schedule.next_check(0, HOUR + 1) == 6 * HOUR
    assert schedule.next_check(0, 30 * HOUR) == 72 * HOUR, "missed ages are not asked one by one"
    assert schedule.next_check(0, 73 * HOUR) is None
    after = schedule.after_removal(0, 80 * HOUR, 80 * HOUR)
    assert after == 104 * HOUR, "a removed page is looked at daily for a week after its last age"
    assert schedule.after_removal(0, 80 * HOUR, 80 * HOUR + 7 * 24 * HOUR) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["1h", "6h", "24h", "72h"], (HOUR, 6 * HOUR, 24 * HOUR, 72 * HOUR)),
        (False, ()),
        ("30min, 2d", (1800.0, 172800.0)),
    ],
)
def test_revisit_values(value: object, expected: tuple[float, ...]) -> None:
    assert parse_revisits(value) == expected


def test_bad_revisit_values_say_why() -> None:
    assert "duration" in str(parse_revisits(["1h", "soon"]))
    assert "list of durations" in str(parse_revisits(3))


def test_same_text_tells_an_edit_from_another_page() -> None:
    article = "Російські війська обстріляли Запоріжжя вночі, загинули троє людей, ще семеро поранені."
    assert same_text(article, article.replace("троє", "четверо"))
    assert not same_text(article, "Сторінку не знайдено. Перейдіть на головну сторінку сайту.")
