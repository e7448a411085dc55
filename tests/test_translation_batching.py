"""Pieces of several articles share provider calls (TRANSLATION_BATCH_WAIT), against the
loopback stand-ins of the providers: fewer calls, and every article gets back exactly its
own translation, or fails cleanly; never another article's text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.site.translators import FakeTranslator, translate_all

WORDS = ["уряд", "громада", "рішення", "закон", "область", "кошти", "депутат", "реформа", "місто", "новина"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTranslator]:
    with FakeTranslator() as server:
        yield server


def article(number: int, paragraphs: int = 3) -> dict[str, str | None]:
    text = "\n".join(
        f"Абзац {k} статті {number}: {WORDS[(number + k) % 10]} {WORDS[k % 10]}." for k in range(paragraphs)
    )
    return {"title": f"Заголовок {number}: {WORDS[number % 10]}", "summary": f"Коротко {number}.", "text": text}


@pytest.mark.parametrize("name", ["google", "libre", "deepl"])
def test_articles_share_calls_and_each_gets_its_own_text(fake: FakeTranslator, name: str) -> None:
    articles = [article(n) for n in range(12)]
    fake.mode = ("ok",)
    fake.calls = 0
    alone = translate_all(fake.service(name, batch_wait=0), articles)
    calls_alone, fake.calls = fake.calls, 0
    shared = translate_all(fake.service(name, batch_wait=0.2), articles)
    assert all(o.ok for o in alone + shared)
    assert [o.fields for o in shared] == [o.fields for o in alone], "every article gets exactly its own text"
    assert fake.calls < calls_alone / 4, (fake.calls, calls_alone)


@pytest.mark.parametrize("damage", ["drop_separator", "swap_lines", "merge_lines"])
def test_a_damaged_batch_goes_article_by_article(fake: FakeTranslator, damage: str) -> None:
    articles = [article(n) for n in range(6)]
    fake.mode = ("ok",)
    expected = [o.fields for o in translate_all(fake.service("google", batch_wait=0), articles)]
    fake.script.extend([(damage,)])
    outcomes = translate_all(fake.service("google", batch_wait=0.2), articles)
    assert [o.fields for o in outcomes] == expected and all(o.ok for o in outcomes)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shapes=st.lists(st.integers(min_value=1, max_value=4), min_size=2, max_size=6),
    damages=st.lists(st.sampled_from(["ok", "drop_separator", "swap_lines", "merge_lines", "echo"]), max_size=4),
)
def test_any_mix_and_any_damaged_answer_never_crosses_articles(
    fake: FakeTranslator, shapes: list[int], damages: list[str]
) -> None:
    articles = [article(n, paragraphs) for n, paragraphs in enumerate(shapes)]
    fake.script.clear()
    fake.mode = ("ok",)
    expected = [o.fields for o in translate_all(fake.service("google", batch_wait=0), articles)]
    fake.script.extend((damage,) for damage in damages)
    outcomes = translate_all(fake.service("google", batch_wait=0.05), articles)
    fake.script.clear()
    for outcome, own in zip(outcomes, expected, strict=True):
        if outcome.ok:
            assert outcome.fields == own, "an article got back its own translation"
        else:
            assert outcome.error is not None and not outcome.fields, "or failed cleanly"


def test_a_piece_in_flight_for_one_article_is_not_sent_again_for_another() -> None:
    """A near-duplicate's shared paragraphs wait for the call already carrying them, and
    share its failure too: one call, never two, whatever the answer."""
    shared = "Спільний абзац агентської новини про рішення уряду щодо громад."
    copies = [{"title": f"Заголовок {n}", "summary": None, "text": f"{shared}\nВласний абзац {n}."} for n in range(3)]
    with FakeTranslator(latency=0.3) as slow:
        outcomes = translate_all(slow.service("libre", batch_wait=0), copies)
        assert all(o.ok for o in outcomes) and slow.texts.count(shared) == 1
        assert len({o.fields["text"].split("\n")[0] for o in outcomes}) == 1  # type: ignore[union-attr]
        slow.texts.clear()
        slow.mode = ("status", 400)  # not retried: one attempt
        failed = translate_all(slow.service("libre", batch_wait=0), [{**c, "title": c["title"] + "!"} for c in copies])
        assert not any(o.ok for o in failed) and slow.texts.count(shared) == 1
