"""Chunking: nothing dropped or duplicated at edges, budgets respected, structure kept."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.translation.chunking import join_pieces, pack, reassemble, split_paragraph, units_for

WORDS = st.sampled_from(
    ["Київ", "заявив.", "Президент", "сказав!", "Чому?", "«Так»", "2025", "a", "x" * 40, "Dr.", "…", "—"]
)
PARAGRAPH = st.lists(WORDS, min_size=1, max_size=60).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(PARAGRAPH, st.integers(min_value=1, max_value=120))
def test_split_paragraph_round_trips_within_the_limit(paragraph: str, limit: int) -> None:
    pieces = split_paragraph(paragraph, limit)
    assert join_pieces(pieces) == paragraph
    assert all(0 < len(text) <= limit for _, text in pieces)


def test_split_prefers_sentence_ends() -> None:
    paragraph = "Перше речення тут. Друге речення! Третє? «Четверте» речення. Кінець."
    assert [text for _, text in split_paragraph(paragraph, 38)] == [
        "Перше речення тут. Друге речення!",
        "Третє? «Четверте» речення. Кінець.",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=50), min_size=1, max_size=40),
    st.integers(min_value=50, max_value=200),
    st.integers(min_value=1, max_value=10),
)
def test_pack_respects_budgets_and_keeps_every_text_once(texts: list[str], max_chars: int, max_items: int) -> None:
    calls = pack(texts, max_chars, max_items)
    assert sorted(t for call in calls for t in call) == sorted(texts)
    for call in calls:
        assert len(call) <= max_items
        assert sum(map(len, call)) + len(call) - 1 <= max_chars or len(call) == 1


def test_pack_fills_calls() -> None:
    texts = ["x" * n for n in (900, 800, 700, 600, 500, 400, 300, 200, 100, 100)]
    calls = pack(texts, 1800, 100)
    assert len(calls) == 3, "4,600 characters fit in three calls of 1,800"


@settings(max_examples=150, deadline=None)
@given(st.lists(PARAGRAPH, min_size=1, max_size=8), st.integers(min_value=5, max_value=80))
def test_units_reassemble_to_the_same_structure(paragraphs: list[str], limit: int) -> None:
    fields = {"title": paragraphs[0], "summary": None, "text": "\n".join(paragraphs)}
    units = units_for(fields, limit)
    assert all("\n" not in unit.text and len(unit.text) <= limit for unit in units)
    identity = reassemble(units, {unit.text: unit.text for unit in units}, fields)
    assert identity == {"title": paragraphs[0], "summary": None, "text": "\n".join(paragraphs)}
    upper = reassemble(units, {unit.text: unit.text.upper() for unit in units}, fields)
    assert upper["text"].count("\n") == len(paragraphs) - 1


def test_a_paragraph_of_spaces_longer_than_the_limit_comes_back_as_it_is() -> None:
    from crawler.translation.chunking import join_pieces, split_paragraph

    assert join_pieces(split_paragraph("   ", 1)) == "   "
