"""Watchlists without a crawl: the file's validation, the matcher's inflection and logic, the
search query, and the search index and alerts in both state stores (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config.watchlists_file import Term, Watchlist, WatchlistsError, load_watchlists
from crawler.output.alert_sender import FIRST_PAUSE, LONGEST_PAUSE, next_attempt
from crawler.output.search import search
from crawler.state.postgres_store import PostgresStore
from crawler.state.rows import encode_record
from crawler.state.sqlite_store import SqliteReader, StateDB
from crawler.state.store import StateError, StateStore
from crawler.watch.matcher import Article, Matcher
from crawler.watch.search_query import parse_query
from crawler.watch.words import forms


def _load(tmp_path: Path, text: str, known: list[str] | None = None):
    path = tmp_path / "watchlists.yaml"
    path.write_text(text, encoding="utf-8")
    return load_watchlists(path, known)


def test_every_mistake_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(WatchlistsError) as caught:
        _load(tmp_path, (
            "watchlists:\n"
            "  - name: ok\n    terms: [Київ]\n"
            "  - name: bad name!\n    terms: [x]\n"
            "  - name: empty\n    sources: [unian]\n"
            "  - name: typo\n    term: [Київ]\n"
            "  - name: hook\n    terms: [a]\n    webhook: ftp://x\n    min_matches: 0\n"
            "  - name: ok\n    terms: [Львів]\n"
            "  - name: elsewhere\n    terms: [a]\n    sources: [unain]\n"
        ), known=["unian"])  # fmt: skip
    lines = str(caught.value).splitlines()
    path = tmp_path / "watchlists.yaml"
    assert f"{path}:4: watchlist 'bad name!', key 'name': use letters, digits" in lines[0]
    assert any(line.startswith(f"{path}:6: watchlist 'empty', key 'terms':") for line in lines)
    assert any(f"{path}:9: watchlist 'typo', key 'term': unknown key (did you mean 'terms'?)" in line for line in lines)
    assert any(f"{path}:12: watchlist 'hook', key 'webhook':" in line for line in lines)
    assert any(f"{path}:13: watchlist 'hook', key 'min_matches':" in line for line in lines)
    assert any(f"{path}:14: watchlist 'ok', key 'name': duplicate name" in line for line in lines)
    assert any("no source is named 'unain' (did you mean 'unian'?)" in line for line in lines)


def test_a_valid_file_with_defaults_groups_and_exact_terms(tmp_path: Path) -> None:
    config = _load(tmp_path, (
        "defaults:\n  languages: [UK, ru]\n  min_matches: 2\n"
        "watchlists:\n"
        "  - name: zaes\n    terms: [Запорізька АЕС, {term: ЗАЕС, exact: true}, 1986]\n"
        "    all: [[обстріл, shelling], удар]\n    not: [навчання]\n"
        "    webhook: {url: 'http://127.0.0.1:9/hook', secret_env: HOOK_SECRET}\n"
    ))  # fmt: skip
    (zaes,) = config.watchlists
    assert zaes.terms == (Term("Запорізька АЕС"), Term("ЗАЕС", exact=True), Term("1986"))
    assert zaes.all == ((Term("обстріл"), Term("shelling")), (Term("удар"),))
    assert zaes.languages == ("uk", "ru") and zaes.min_matches == 2 and zaes.webhook.secret_env == "HOOK_SECRET"
    assert _load(tmp_path, "").watchlists == ()


CASES = [
    # (term, text, matches)
    ("Запоріжжя", "Ситуація у Запоріжжі стабільна", True),
    ("Запоріжжя", "Колона прямує за Запоріжжям", True),
    ("Запоріжжя", "Запорізька область", False),  # an adjective is another word
    ("Энергодар", "Жители Энергодара остались без света", True),
    ("Энергодар", "в Энергодаре", True),
    ("Україна", "український уряд", False),
    ("Україна", "в Україні та за її межами", True),
    ("Зеленський", "Зеленська заявила", False),
    ("Зеленський", "зустріч із Зеленським", True),
    ("Путин", "на пути к миру", False),
    ("Путин", "встреча с Путиным", True),
    ("Запорізька АЕС", "на Запорізькій АЕС", True),
    ("Запорізька АЕС", "Запорізька область і АЕС", False),  # a phrase is a phrase
    ("прем'єр-міністр", "заява прем’єр-міністра", True),  # another apostrophe, another case
    ("Zaporizhzhia nuclear plant", "the Zaporizhzhia nuclear plants", True),
    ("Зеленский", "Зелёному свету", False),
    ("ёлка", "на елке", True),
]


@pytest.mark.parametrize(("term", "text", "expected"), CASES)
def test_terms_match_every_inflected_form_and_nothing_else(term: str, text: str, expected: bool) -> None:
    matcher = Matcher((Watchlist("w", terms=(Term(term),)),))
    assert bool(matcher.match(Article("s", "uk", (text,)))) is expected


def test_groups_exclusions_filters_and_mentions() -> None:
    watchlists = (
        Watchlist("both", all=((Term("Шойгу"),), (Term("Герасимов"), Term("Gerasimov")))),
        Watchlist("not", terms=(Term("АЕС"),), exclude=(Term("навчання"),)),
        Watchlist("twice", terms=(Term("Херсон"),), min_matches=2),
        Watchlist("ru-only", terms=(Term("Херсон"),), languages=("ru",), sources=("ria",)),
    )
    matcher = Matcher(watchlists)

    def names(source: str, language: str, original: str, english: str = "") -> list[str]:
        article = Article(source, language, (original,), (english,) if english else ())
        return [m.watchlist for m in matcher.match(article)]

    assert names("s", "ru", "Шойгу и Герасимова сняли") == ["both"]
    assert names("s", "ru", "Шойгу снят", "Shoigu met Gerasimov") == ["both"], "a group matched in the English"
    assert names("s", "ru", "Шойгу снят") == []
    assert names("s", "uk", "На АЕС пройшли навчання") == []
    assert names("s", "uk", "Херсон, Херсону, Херсоном") == ["twice"]
    assert names("ria", "ru", "в Херсоне", "in Kherson") == ["ru-only"]
    (mentions,) = [m.mentions for m in matcher.match(Article("s", "uk", ("Херсон і Херсон",), ("Kherson",)))]
    assert mentions == 2, "the text with more mentions counts"


def test_a_term_expands_to_its_paradigm_once() -> None:
    assert {"енергодар", "енергодара", "енергодарі", "енергодаром"} <= forms("Енергодар")
    assert "зеленська" not in forms("Зеленський")


def test_next_attempt_backs_off_and_is_bounded() -> None:
    now = 1_000_000.0
    assert next_attempt(1, now) - now == FIRST_PAUSE
    assert next_attempt(2, now) - now == 2 * FIRST_PAUSE
    assert next_attempt(30, now) - now == LONGEST_PAUSE


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        opened: StateStore = StateDB(tmp_path / "state.sqlite3")
    else:
        opened = PostgresStore(request.getfixturevalue("pg_url"), max_connections=2)
    yield opened
    opened.close()


def _record(number: int, title: str, text: str, **more: object) -> dict:
    return {"id": f"a{number}", "source": more.pop("source", "unian"), "canonical_url": f"https://x.ua/{number}",
            "language": more.pop("language", "uk"), "title": title, "summary": None, "text": text,
            "title_en": more.pop("title_en", None), "text_en": more.pop("text_en", None),
            "published": more.pop("published", f"2026-11-{10 + number:02d}T08:00:00Z"), "revision": 1,
            "story_id": more.pop("story_id", f"a{number}"), **more}  # fmt: skip


def _deliver(store: StateStore, now: int, records: list[dict], alerts: list[dict] | None = None) -> None:
    evidence = [{"id": r["id"], "source": r["source"], "url": r["canonical_url"],
                 "record": encode_record(json.dumps(r, ensure_ascii=False))} for r in records]  # fmt: skip
    articles = [{"id": r["id"], "source": r["source"], "canonical_url": r["canonical_url"], "content_hash": "h",
                 "revision": r["revision"], "translation_status": "skipped", "retry_record": None} for r in records]  # fmt: skip
    store.apply({"now": now, "articles": articles, "touched": [], "urls": [], "evidence": evidence,
                 "alerts": alerts or []})  # fmt: skip


def test_search_index_follows_deliveries_edits_removals_and_pruning(store: StateStore) -> None:
    zaes = [{"name": "zaes", "terms": ["Енергодар"], "mentions": 1, "in": ["current"]}]
    _deliver(
        store,
        1000,
        [
            _record(1, "Світло в Енергодарі", "У місті Енергодар знову немає світла.", watchlists=zaes),
            _record(2, "Київ", "Новини столиці: у Києві тихо.", title_en="Kyiv", text_en="News: Kyiv is calm."),
            _record(3, "Харків", "У Харкові вибухи. Енергодар також.", source="ria", language="ru"),
        ],
        alerts=[{"watchlist": "zaes", "story_id": "a1", "article_id": "a1", "payload": {"id": "zaes/a1"}}],
    )
    hits = search(store, parse_query("Енергодаром"))
    assert [h.row["article_id"] for h in hits] == ["a3", "a1"], "newest first by publication"
    assert hits[1].original == "У місті [Енергодар] знову немає світла."
    assert [h.row["article_id"] for h in search(store, parse_query("енергодар", sources=("unian",)))] == ["a1"]
    assert [h.row["article_id"] for h in search(store, parse_query("calm kyiv"))] == ["a2"], "English, any order"
    assert search(store, parse_query('"kyiv calm"')) == [], "a phrase is a phrase"
    assert [h.row["article_id"] for h in search(store, parse_query("енергодар -харків"))] == ["a1"]
    # An edit replaces the text; a removal keeps it, marked.
    _deliver(store, 2000, [_record(1, "Світло повернули", "Світло є.", revision=2, change={"kind": "edited"})])
    assert [h.row["article_id"] for h in search(store, parse_query("енергодар"))] == ["a3"]
    _deliver(store, 3000, [_record(3, "Харків", "У Харкові вибухи. Енергодар також.", source="ria",
                                   change={"kind": "removed"})])  # fmt: skip
    (removed,) = search(store, parse_query("енергодар"))
    assert removed.row["change"] == "removed"
    assert [r["article_id"] for r in store.feed_entries("sources", "unian", 10)] == ["a1", "a2"]
    assert [r["article_id"] for r in store.feed_entries("watchlists", "zaes", 10)] == ["a1"]
    (match,) = store.matches_since(0)
    assert (match["watchlist"], match["article_id"], match["alerted_article"]) == ("zaes", "a1", "a1")
    # Alerts: due, sent once, never again for the story.
    (due,) = store.due_alerts(5000, 10)
    assert due.payload == {"id": "zaes/a1"} and due.attempts == 0
    store.record_alerts([{"watchlist": "zaes", "story_id": "a1", "next_at": 9000, "attempts": 1,
                          "error": "HTTP 503", "given_up": None}])  # fmt: skip
    assert store.due_alerts(5000, 10) == [] and store.waiting_alerts() == {"zaes": (1, 1000)}
    _deliver(store, 4000, [], alerts=[{"watchlist": "zaes", "story_id": "a1", "article_id": "a9", "payload": {}}])
    (again,) = store.due_alerts(9000, 10)
    assert again.attempts == 1 and again.payload == {"id": "zaes/a1"}, "one alert per story"
    store.record_alerts([{"watchlist": "zaes", "story_id": "a1", "sent": 9001, "now": 9001, "attempts": 2}])
    assert store.due_alerts(99999, 10) == [] and store.waiting_alerts() == {}
    pruned = store.prune(2500)
    assert pruned["search"] == 2 and pruned["alerts"] == 1, "a1 and a2 last seen before, a3 after"
    assert [h.row["article_id"] for h in search(store, parse_query("харків"))] == ["a3"]


def test_the_sqlite_reader_is_read_only_and_says_when_there_is_no_index(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="run a crawl first"):
        SqliteReader(tmp_path / "missing.sqlite3")
    db = StateDB(tmp_path / "state.sqlite3")
    _deliver(db, 1000, [_record(1, "Львів", "У Львові дощ.")])
    db.close()
    reader = SqliteReader(tmp_path / "state.sqlite3")
    try:
        assert [h.row["article_id"] for h in search(reader, parse_query("Львів"))] == ["a1"]
    finally:
        reader.close()
