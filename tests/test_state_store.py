"""The StateStore protocol, against both stores: the SQLite file and a real PostgreSQL.

Every behaviour a run depends on is asserted on both, so that STATE_URL changes where the
state lives and nothing else; then what only the shared store has (lease, claims, shard
results) and how it fails."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from crawler.frontier.book import FrontierEntry
from crawler.parsing.feeds import FeedEntry
from crawler.parsing.fingerprint import fingerprint
from crawler.parsing.urls import article_id
from crawler.state.delivery import recover_deliveries
from crawler.state.lock import RunLockedError
from crawler.state.lookups import Lookups
from crawler.state.postgres_store import SCHEMA_VERSION, PostgresStore
from crawler.state.rows import encode_print, encode_record
from crawler.state.sqlite_store import StateDB
from crawler.state.store import StateError, StateStore
from crawler.stories.assign import PendingStories, Reason, assign_story
from crawler.translation.cache import cache_key
from tests.site.syndication import corpus_stories

ARTICLE = {
    "id": "a" * 20,
    "source": "s",
    "canonical_url": "https://x.org/a",
    "content_hash": "0" * 64,
    "title_hash": "t" * 24,
    "revision": 1,
    "translation_status": "skipped",
    "retry_record": None,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        opened: StateStore = StateDB(tmp_path / "state.sqlite3")
    else:
        opened = PostgresStore(request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


def _batch(now: int, **parts: object) -> dict:
    return {"now": now, "articles": [], "touched": [], "urls": [], "validators": [], **parts}


def test_articles_urls_and_markers(store: StateStore) -> None:
    store.apply(_batch(1_000, articles=[ARTICLE], urls=[("x.org/a", ARTICLE["id"], {"feed": "2025-01-01"}, 0)]))
    store.apply(_batch(2_000, urls=[("x.org/a", ARTICLE["id"], {"sitemap": "2025-01-02"}, 0)]))
    article_id, markers, failures = store.known_url("x.org/a")
    assert article_id == ARTICLE["id"] and failures == 0
    assert markers == {"feed": "2025-01-01", "sitemap": "2025-01-02"}, "markers of each document are kept"
    assert store.known_url("x.org/missing") is None
    assert store.known_urls(["x.org/a", "x.org/missing", "x.org/a"]) == {"x.org/a": store.known_url("x.org/a")}
    assert store.articles([ARTICLE["id"], "z" * 20]) == {ARTICLE["id"]: store.article(ARTICLE["id"])}
    assert store.known_urls([]) == {} and store.articles([]) == {}
    article = store.article(ARTICLE["id"])
    assert article is not None and article["revision"] == 1 and article["first_seen"] == 1_000
    assert article["title_hash"] == ARTICLE["title_hash"] and article["source"] == "s"
    assert store.article_with_text("s", "0" * 64) == ARTICLE["id"]
    assert store.article_with_text("other", "0" * 64) is None
    store.apply(_batch(3_000, articles=[{**ARTICLE, "revision": 2, "content_hash": "1" * 64}]))
    updated = store.article(ARTICLE["id"])
    assert updated is not None and updated["revision"] == 2 and updated["first_seen"] == 1_000


def test_lookups_answer_a_documents_links_from_one_batch_for_the_run(tmp_path: Path) -> None:
    """The links of a document are looked up at once, with the articles they led to, and
    the answers hold for the run: the store changes only when the run commits."""
    store = StateDB(tmp_path / "state.sqlite3")
    store.apply(_batch(1_000, articles=[ARTICLE], urls=[("x.org/a", ARTICLE["id"], None, 0)]))
    lookups = Lookups(store)
    asyncio.run(lookups.prefetch(["x.org/a", "x.org/new"]))
    store.apply(_batch(2_000, articles=[{**ARTICLE, "id": "b" * 20}], urls=[("x.org/new", "b" * 20, None, 0)]))
    store.apply(_batch(2_000, articles=[{**ARTICLE, "revision": 5}]))
    assert lookups.known_url("x.org/new") is None, "answered from the batch, not asked again"
    article = lookups.article(ARTICLE["id"])
    assert article is not None and article["revision"] == 1
    assert lookups.known_url("x.org/later") is None and lookups.article("b" * 20) is not None, "a miss asks the store"
    store.close()


def test_what_deciding_an_article_needs_is_read_in_one_trip_before_it(tmp_path: Path) -> None:
    """The state pipeline reads an article's row, its URL's, and the source's article with the
    same text off the reactor first; deciding then answers from memory."""
    from crawler.frontier.book import FrontierBook
    from crawler.frontier.retry import RetryPolicy
    from crawler.items import ArticleItem
    from crawler.state.link_decisions import Decision, LinkDecisions

    store = StateDB(tmp_path / "state.sqlite3")
    untitled = {**ARTICLE, "title_hash": None}  # delivered before headlines were compared
    store.apply(_batch(1_000, articles=[untitled], urls=[("x.org/a", ARTICLE["id"], None, 0)]))
    lookups = Lookups(store)
    touched: list[str] = []
    links = LinkDecisions(store, lookups, FrontierBook(store, RetryPolicy(), 1_000), False, touched.append)

    def item(article_id: str, content_hash: str) -> ArticleItem:
        url = f"https://x.org/{article_id}"
        return ArticleItem(
            id=article_id, source="s", url=url, canonical_url=url, discovered_via={}, title="", text="",
            summary=None, author=None, published=None, fetched_at="", language="uk", language_confidence=1.0,
            tags=[], content_hash=content_hash,
        )  # fmt: skip

    moved, fresh = item("m" * 20, ARTICLE["content_hash"]), item("f" * 20, "9" * 64)
    for item in (moved, fresh):
        asyncio.run(links.prepare(item))
    store.close()  # from here on, any trip to the store would fail
    assert links.decide(fresh) == Decision.NEW and fresh.revision == 1
    assert links.decide(moved) == Decision.MOVED, "the same text under a new URL is the delivered article"
    assert moved.id == ARTICLE["id"] and touched == [ARTICLE["id"]]


def test_documents_children_and_site_rules(store: StateStore) -> None:
    children = [["https://x.org/s1.xml", "2025-01-01"], ["https://x.org/s2.xml", None]]
    store.apply(
        _batch(
            1_000,
            # A payload written by the release before the revisit policy (a killed run's delivery).
            validators=[("https://x.org/index.xml", '"e1"', "Mon, 01 Jan 2025 00:00:00 GMT", children)],
            documents=[
                {"url": "https://x.org/s1.xml", "etag": None, "last_modified": "Tue", "fetched": 900.5,
                 "changed": 800.0, "complete": True, "children": [], "digest": "d1", "listed": "2025-01-01",
                 "cursor": {"next": "https://x.org/s1.xml?page=3", "since": 5.0}},
                {"url": "https://x.org/s2.xml", "etag": '"e2"', "last_modified": None, "fetched": None,
                 "changed": None, "complete": False, "children": None, "digest": None, "listed": None,
                 "cursor": None},
            ],
            site_rules=[("x.org", [[["utm_source"], "/"]])],
        )
    )  # fmt: skip
    found = store.documents(
        ["https://x.org/index.xml", "https://x.org/s1.xml", "https://x.org/s2.xml", "https://x.org/no"]
    )
    assert sorted(found) == ["https://x.org/index.xml", "https://x.org/s1.xml", "https://x.org/s2.xml"]
    index, s1, s2 = found["https://x.org/index.xml"], found["https://x.org/s1.xml"], found["https://x.org/s2.xml"]
    assert (index.etag, index.last_modified, index.fetched) == ('"e1"', "Mon, 01 Jan 2025 00:00:00 GMT", 1_000)
    assert index.children == tuple((c[0], c[1]) for c in children) and index.complete and index.read
    assert (s1.fetched, s1.changed, s1.digest, s1.listed, s1.children) == (900, 800.0, "d1", "2025-01-01", ())
    assert s1.cursor == {"next": "https://x.org/s1.xml?page=3", "since": 5.0}
    assert not s2.complete and not s2.read and s2.fetched == 1_000 and s2.children is None
    assert store.site_rules() == {"x.org": [[["utm_source"], "/"]]}


def test_the_retry_frontier(store: StateStore) -> None:
    entry = FeedEntry("https://x.org/a", title="Заголовок", published="2026-11-03T10:00:00+02:00", tags=("війна",))
    owed = [
        FrontierEntry("x.org/a", "https://x.org/a", "s", "feed", "https://x.org/rss", entry, "p:2026", 5.0,
                      first_seen=10.0, next_at=10.0),
        FrontierEntry("x.org/b", "https://x.org/b", "s", "sitemap", "https://x.org/sm.xml", first_seen=10.0),
        FrontierEntry("x.org/c", "https://x.org/c", "other", "listing", "https://x.org/", first_seen=10.0),
    ]  # fmt: skip
    store.add_to_frontier(owed)
    store.add_to_frontier([replace(owed[0], via_url="https://x.org/elsewhere")])  # already owed: kept as it was
    assert {e.key: e for e in store.frontier(["s"])} == {"x.org/a": owed[0], "x.org/b": owed[1]}
    failed = replace(owed[1], reason="http_503", attempts=2, first_failed=20.0, next_at=30.0)
    store.apply(_batch(1_000, frontier_done=["x.org/a"], frontier_failed=[failed.row()]))
    assert store.frontier(["s"]) == [failed], "delivered pages leave the frontier, failures are recorded"
    assert sorted(store.frontier(["s", "other"]), key=lambda e: e.key) == [failed, owed[2]]
    assert store.prune(older_than=11)["frontier"] == 2, "pages owed for longer than the retention are forgotten"


def test_retry_records_and_translation_cache(store: StateStore) -> None:
    record = json.dumps({"id": ARTICLE["id"], "text": "Привіт"}, ensure_ascii=False)
    failed = {**ARTICLE, "translation_status": "failed", "retry_record": record}
    store.apply(
        _batch(
            1_000, articles=[failed], urls=[("x.org/a", ARTICLE["id"], {}, 0), ("x.org/a?amp", ARTICLE["id"], {}, 0)]
        )
    )
    [(kept, keys)] = store.retry_records("s", 10)
    assert json.loads(kept) == json.loads(record) and sorted(keys) == ["x.org/a", "x.org/a?amp"]
    key = cache_key("google", "uk", "en", "Привіт")
    assert store.cached_translations([key]) == {}
    store.cache_translations([(key, "Hello")])
    assert store.cached_translations([key, key]) == {key: "Hello"}


def test_deliveries_runs_history_and_prune(store: StateStore) -> None:
    store.write_delivery("r1", json.dumps(_batch(1)), [{"path": "/x", "inode": 1, "size": 2}], complete=False)
    store.write_delivery("r1", json.dumps(_batch(1)), [{"path": "/x", "inode": 1, "size": 3}], complete=True)
    [(run_id, payload, files, complete)] = store.deliveries()
    assert run_id == "r1" and complete and files[0]["size"] == 3 and json.loads(payload)["now"] == 1
    store.drop_delivery("r1")
    assert store.deliveries() == []
    now = int(time.time())
    store.start_run("run-a", now - 10)
    store.finish_run("run-a", now - 5, json.dumps({"run_id": "run-a", "sources": {}}))
    assert store.last_summary() == {"run_id": "run-a", "sources": {}}
    assert [summary["run_id"] for _, summary in store.run_history(now - 60)] == ["run-a"]
    store.apply(_batch(1_000, articles=[ARTICLE], urls=[("x.org/a", ARTICLE["id"], None, 0)],
                       validators=[("https://x.org/rss", '"e"', None)]))  # fmt: skip
    store.apply(_batch(5_000, articles=[{**ARTICLE, "id": "b" * 20}]))
    pruned = store.prune(older_than=2_000)
    assert pruned["articles"] == 1 and pruned["urls"] == 1 and pruned["discovery"] == 1
    assert store.article("b" * 20) is not None and store.article("a" * 20) is None


def test_sqlite_settles_an_earlier_releases_pending_rows_itself(tmp_path: Path) -> None:
    """Schema-2 ``pending`` rows (an earlier release killed while publishing) come back as
    deliveries: applied when the file holds the row's probe article, dropped otherwise."""
    db = StateDB(tmp_path / "state.sqlite3")
    whole, torn = tmp_path / "whole.jsonl", tmp_path / "torn.jsonl"
    whole.write_text(json.dumps({"id": ARTICLE["id"]}) + "\n", encoding="utf-8")
    torn.write_text("", encoding="utf-8")
    rows = [
        ("old-1", str(whole), ARTICLE["id"], json.dumps(_batch(1_000, articles=[ARTICLE]))),
        ("old-2", str(torn), "b" * 20, json.dumps(_batch(1_000, articles=[{**ARTICLE, "id": "b" * 20}]))),
        (
            "old-3",
            str(tmp_path / "gone.jsonl"),
            None,
            json.dumps(_batch(1_000, articles=[{**ARTICLE, "id": "c" * 20}])),
        ),
    ]
    db.db.executemany("INSERT INTO pending (run_id, path, probe_id, payload) VALUES (?, ?, ?, ?)", rows)
    recover_deliveries(db)
    assert db.article(ARTICLE["id"]) is not None
    assert db.article("b" * 20) is None and db.article("c" * 20) is None
    assert db.deliveries() == [] and db.db.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
    db.close()


def test_postgres_schema_is_migrated_once_and_a_newer_one_refused(pg_url: str) -> None:
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    assert first.schema_version == second.schema_version == SCHEMA_VERSION
    first.close()
    second.close()
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE sources_crawler_schema SET version=%s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StateError, match="newer sources-crawler"):
        PostgresStore(pg_url)


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    with pytest.raises(StateError) as raised:
        PostgresStore("postgresql://crawler:s3cret@127.0.0.1:1/state?connect_timeout=1")
    assert "127.0.0.1:1/state" in str(raised.value) and "s3cret" not in str(raised.value)


def test_the_lease_refuses_a_live_run_and_passes_from_a_dead_one(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        assert store.take_lease("run-1", stale_after=60, plan={"kind": "distributed"}) is not None
        assert store.take_lease("run-2", stale_after=60) is None, "run-1 is alive"
        assert store.take_lease("run-2", stale_after=60, crawl_gone=True) is None, "a distributed run has no session"
        assert store.heartbeat("run-1") and not store.heartbeat("run-2")
        time.sleep(0.3)
        assert store.take_lease("run-2", stale_after=0.2) is not None, "run-1's heartbeat went stale"
        assert not store.heartbeat("run-1"), "run-1 knows it lost the lease"
        store.end_lease("run-2")
        assert store.take_lease("run-3", stale_after=60, plan={"kind": "crawl"}) is not None, "run-2 ended"
        assert store.take_lease("run-4", stale_after=60, crawl_gone=True) is not None, "run-3's crawl is gone"
    finally:
        store.close()


def test_a_lease_that_fails_half_way_holds_nothing_and_says_so_as_a_state_error(pg_url: str) -> None:
    from crawler.state.lease import LeaseLock

    with psycopg.connect(pg_url, autocommit=True) as db:
        PostgresStore(pg_url).close()
        db.execute("ALTER TABLE run_lease RENAME TO run_lease_away")  # take_lease fails after the session lock
        with pytest.raises(StateError, match="cannot be used") as failed:
            LeaseLock(pg_url, stale_after=60, heartbeat=5).acquire()
        db.execute("ALTER TABLE run_lease_away RENAME TO run_lease")
    # (``failed`` keeps the failed frame, and any connection it held, alive: as a caller that logs it would.)
    assert failed.traceback
    # The failed attempt's session lock went with it: the next crawl is not locked out.
    lock = LeaseLock(pg_url, stale_after=60, heartbeat=5)
    lock.acquire()
    try:
        second = LeaseLock(pg_url, stale_after=60, heartbeat=5)
        with pytest.raises(RunLockedError, match="another run holds"):
            second.acquire()
    finally:
        lock.release()
    with psycopg.connect(pg_url, autocommit=True) as db:
        held = db.execute("SELECT count(*) FROM pg_locks WHERE locktype='advisory'").fetchone()[0]
    assert held == 0, "every session lock was let go"


def test_claims_go_to_the_first_shard_and_stay_with_it(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        assert store.claim("run-1", "article x", shard=0)
        assert not store.claim("run-1", "article x", shard=1), "shard 1 lost the race"
        assert store.claim("run-1", "article x", shard=0), "a retry of shard 0 reuses its claim"
        assert store.claim("run-2", "article x", shard=1), "claims are per run"
        store.record_shard("run-1", 0, summary={"totals": {"emitted": 3}}, files=["a-s0.jsonl"])
        store.apply(_batch(1, shard={"run": "run-1", "shard": 0, "files": ["a-s0-r2.jsonl"]}))
        store.record_shard("run-1", 0, status=0)
        result = store.shard_results("run-1")[0]
        assert result.status == 0 and result.committed and result.summary == {"totals": {"emitted": 3}}
        assert sorted(result.files) == ["a-s0-r2.jsonl", "a-s0.jsonl"], "every attempt's files are kept"
    finally:
        store.close()


@pytest.mark.usefixtures("corpus_available")
def test_stories_lookups_and_pruning(store: StateStore) -> None:
    """What crawler/stories asks of the store: an article's story (never changed once given),
    edition links, near-duplicate candidates by band keys; all pruned with the rest."""
    story = corpus_stories("uk")[3]
    print_ = fingerprint("\n".join(story.paragraphs))
    assert print_ is not None
    first, edition = article_id("https://a.test/1"), article_id("https://a.test/rus/1")
    keys = PendingStories().add(first, first, [edition], print_)
    store.apply(_batch(1_000, articles=[{**ARTICLE, "id": first, "story_id": first}],
                       stories=[encode_print(first, first, print_.minhash, print_.numbers, keys)],
                       story_links=[[edition, first]]))  # fmt: skip
    store.apply(_batch(1_500, articles=[{**ARTICLE, "id": first, "story_id": "f" * 20, "revision": 2}]))
    assert store.stories_of([first, edition]) == {first: first}, "a story id never changes"
    assert store.linked_stories([edition, first]) == {edition: first}
    assert [c[:2] for c in store.story_candidates(keys, 50)] == [(first, first)]
    copy = fingerprint("\n".join(story.paragraphs[:-1]) + "\nЧитайте також: інша новина")
    assert copy is not None
    joined = assign_story(article_id("https://b.test/1"), [], copy, [PendingStories(), store])
    assert (joined.story_id, joined.reason) == (first, Reason.NEAR_DUPLICATE)
    assert assign_story(edition, [], None, [store]).reason == Reason.EDITION
    pruned = store.prune(older_than=2_000)
    assert pruned["story_prints"] == 1 and pruned["story_bands"] == len(keys) and pruned["story_links"] == 1
    assert store.story_candidates(keys, 50) == []


def test_evidence_rows_checks_due_and_pruning(store: StateStore) -> None:
    record = {"id": ARTICLE["id"], "title": "Заголовок", "text": "Перший абзац.\nДругий.", "revision": 1}
    evidence = {"id": ARTICLE["id"], "source": "s", "url": "https://x.org/a", "etag": '"e1"',
                "last_modified": None, "next_check": 4_600.0, "gone": None, "removed": None,
                "record": encode_record(json.dumps(record, ensure_ascii=False))}  # fmt: skip
    store.apply(_batch(1_000, articles=[ARTICLE], evidence=[evidence]))
    assert store.due_checks(4_000, 10) == [], "not due before its time"
    [due] = store.due_checks(5_000, 10)
    assert (due.id, due.url, due.etag, due.first_seen, due.revision, due.gone) == (
        ARTICLE["id"], "https://x.org/a", '"e1"', 1_000.0, 1, None,
    )  # fmt: skip
    assert store.evidence_records([ARTICLE["id"], "z" * 20]) == {ARTICLE["id"]: record}
    gone = {"at": 5_000.0, "reason": "http_404", "status": 404}
    # A check keeps the validators it got no new ones for, and records a suspicion.
    store.apply(_batch(5_000, checks=[{"id": ARTICLE["id"], "etag": None, "next_check": 8_600.0, "gone": gone}]))
    [due] = store.due_checks(9_000, 10)
    assert due.etag == '"e1"' and due.gone == gone and due.removed is None
    # Most overdue first, at most the limit per source.
    others = [{**evidence, "id": f"{n}" * 20, "next_check": 100.0 * n, "source": "t"} for n in range(1, 4)]
    store.apply(_batch(5_000, articles=[{**ARTICLE, "id": e["id"], "source": "t"} for e in others], evidence=others))
    due = store.due_checks(9_000, 2)
    assert [d.id for d in due if d.source == "t"] == ["1" * 20, "2" * 20] and any(d.source == "s" for d in due)
    store.apply(_batch(6_000, checks=[{"id": ARTICLE["id"], "next_check": None}]))
    assert all(d.id != ARTICLE["id"] for d in store.due_checks(9e9, 10)), "no check due once its ages are over"
    pruned = store.prune(older_than=5_500)
    assert pruned["evidence"] == 3 and store.evidence_records([ARTICLE["id"]]) != {}, "kept while its article is"
