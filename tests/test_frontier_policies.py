"""The pure policies behind the retry frontier and the revisit schedule: when a failed page is
asked again or given up, when a discovery document is asked, what a URL's date is, how a date
template expands. Real crawls of the same: tests/test_frontier.py and the simulated weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config.date_templates import template_days, template_problem
from crawler.config.sources_file import Source
from crawler.frontier.book import FrontierBook, FrontierEntry
from crawler.frontier.documents import DocumentBook, listing_digest
from crawler.frontier.retry import RetryKind, RetryPolicy, parse_give_up_after, retry_kind
from crawler.frontier.revisit import HOT, DocumentRecord, Due, RevisitPolicy
from crawler.frontier.schedule import DiscoverySchedule
from crawler.net.failures import retry_after
from crawler.parsing.feeds import FeedEntry
from crawler.parsing.kinds import DiscoveryKind
from crawler.parsing.url_dates import url_period

NOW = datetime(2026, 11, 10, 6, 0, tzinfo=UTC).timestamp()
HOUR, DAY = 3600.0, 86400.0


# --- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("http_503", RetryKind.RETRY), ("http_500", RetryKind.RETRY), ("http_429", RetryKind.RETRY),
        ("http_403", RetryKind.RETRY), ("timeout", RetryKind.RETRY), ("connection", RetryKind.RETRY),
        ("dns", RetryKind.RETRY), ("blocked", RetryKind.RETRY), ("extraction_timeout", RetryKind.RETRY),
        ("http_404", RetryKind.NOT_LIVE), ("http_410", RetryKind.NOT_LIVE),
        ("http_400", None), ("no_article", None), ("not_html", None), ("too_large", None), ("robots_txt", None),
    ],
)  # fmt: skip
def test_which_failures_may_pass(reason: str, kind: RetryKind | None) -> None:
    assert retry_kind(reason) == kind


def test_pauses_double_up_to_a_cap_and_giving_up_needs_runs_and_hours() -> None:
    policy = RetryPolicy(runs=4, hours=24)
    assert [policy.pause(n) / 60 for n in range(1, 5)] == [10, 20, 40, 80]
    assert policy.pause(30) == 12 * HOUR
    assert not policy.gives_up("http_503", 4, NOW - 23 * HOUR, NOW), "four runs, but not a day yet"
    assert not policy.gives_up("http_503", 3, NOW - 48 * HOUR, NOW), "two days, but three runs only"
    assert policy.gives_up("http_503", 4, NOW - 24 * HOUR, NOW)
    assert policy.gives_up("http_404", 3, NOW - 60, NOW), "a page that never went live: three runs, any hours"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8 runs, 48h", (8, 48.0)), ("10 runs", (10, 0.0)), ("3d", (1, 72.0)), ("5 runs and 2 days", (5, 48.0)),
     ((6, 12), (6, 12.0))],
)  # fmt: skip
def test_give_up_after_reads_runs_and_hours(text: object, expected: tuple[int, float]) -> None:
    assert parse_give_up_after(text) == expected


@pytest.mark.parametrize("text", ["forever", "8 weeks", "runs", ""])
def test_give_up_after_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="in runs and hours"):
        parse_give_up_after(text)


class _Store:
    def __init__(self, entries: list[FrontierEntry] | None = None) -> None:
        self.rows = {entry.key: entry for entry in entries or []}
        self.added: list[FrontierEntry] = []

    def frontier(self, sources: list[str]) -> list[FrontierEntry]:
        return [entry for entry in self.rows.values() if entry.source in sources]

    def add_to_frontier(self, entries: list[FrontierEntry]) -> None:
        self.added += entries


def _failed(key: str, reason: str, attempts: int, next_at: float, dated: float | None = None) -> FrontierEntry:
    """An owed page of source s, listed by its feed, that failed ``attempts`` runs since an hour ago."""
    return FrontierEntry(
        key, f"https://x/{key[1:]}", "s", DiscoveryKind.FEED, "https://x/rss", reason=reason, attempts=attempts,
        first_seen=NOW - HOUR, first_failed=NOW - HOUR, next_at=next_at, dated=dated,
    )  # fmt: skip


def test_the_frontier_book() -> None:
    failed_before = _failed("k1", "http_503", 1, NOW - 60, dated=5.0)
    pausing = _failed("k2", "timeout", 2, NOW + 60)
    owed = FrontierEntry("k3", "https://x/3", "s", "sitemap", "https://x/s.xml", first_seen=NOW - DAY, dated=9.0)
    other = FrontierEntry("k9", "https://y/9", "other", "feed", "https://y/rss", first_seen=NOW)  # fmt: skip
    book = FrontierBook(_Store([failed_before, pausing, owed, other]), RetryPolicy(runs=2, hours=0.5), NOW)
    book.load(["s"])
    assert book.retries_due("s") == [failed_before] and book.backlog("s") == [owed]
    assert book.waiting("k2") and not book.waiting("k1") and not book.waiting("k3") and book.get("k9") is None
    book.owe(FrontierEntry("k4", "https://x/4", "s", "feed", "https://x/rss", FeedEntry("https://x/4", title="T")))
    book.owe(FrontierEntry("k3", "https://x/3", "s", "feed", "https://x/rss"))  # owed already: kept as it was
    book.flush()
    assert [entry.key for entry in book.store.added] == ["k4"] and book.store.added[0].first_seen == NOW
    book.settle("k3")
    assert book.fail("k4", "http_503") is None, "a first failure is asked again later"
    assert book.fail("k4", "http_503") is None and book.get("k4").attempts == 1, "one failure a run"
    given_up = book.fail("k1", "http_502")
    assert given_up is not None and given_up.attempts == 2 and given_up.reason == "http_502"
    assert book.counts("s") == {"retry_pending": 2, "backlog": 0, "given_up": 1}
    payload = book.payload()
    assert payload["frontier_done"] == ["k1", "k3"]
    [row] = payload["frontier_failed"]
    assert row["key"] == "k4" and row["attempts"] == 1 and row["next_at"] == NOW + 600
    assert '"title": "T"' in row["entry"], "the feed's entry is kept with the page"


def test_a_retry_after_pushes_the_next_attempt_back() -> None:
    response = HtmlResponse("https://x/1", status=429, headers={"Retry-After": "7200"})
    failure = Failure(HttpError(response))
    assert retry_after(failure, NOW) == NOW + 7200
    dated = HtmlResponse("https://x/1", status=503, headers={"Retry-After": "Tue, 10 Nov 2026 09:00:00 GMT"})
    assert retry_after(Failure(HttpError(dated)), NOW) == NOW + 3 * HOUR
    assert retry_after(Failure(HttpError(HtmlResponse("https://x/1", status=503))), NOW) is None
    entry = FrontierEntry("k", "https://x/1", "s", "feed", "https://x/rss")
    book = FrontierBook(_Store(), RetryPolicy(), NOW)
    book.fail("k", "http_429", entry, not_before=NOW + 7200)
    assert book.payload()["frontier_failed"][0]["next_at"] == NOW + 7200, "not before the site asked"
    book = FrontierBook(_Store(), RetryPolicy(), NOW)
    book.fail("k", "http_429", entry, not_before=NOW + 365 * DAY)
    assert book.payload()["frontier_failed"][0]["next_at"] == NOW + 7 * DAY, "a year is a misconfigured server"


# --- discovery documents ------------------------------------------------------------------


def record(url: str, **values: object) -> DocumentRecord:
    return DocumentRecord(url, **{"fetched": NOW - HOUR, "changed": NOW - HOUR, **values})  # type: ignore[arg-type]


def test_hot_documents_every_run_then_a_growing_capped_interval() -> None:
    policy = RevisitPolicy(window_days=3, max_interval=24 * HOUR, per_run=5)
    window = policy.window(NOW)
    feed = "https://x.org/rss"
    assert policy.root_due(None, feed, window) == Due.NOW, "never read"
    assert policy.root_due(record(feed, changed=NOW - 40 * HOUR), feed, window) == Due.NOW, "changed within 48 h"
    assert policy.interval(record(feed, changed=NOW - HOT - 10 * HOUR), NOW) == 5 * HOUR
    assert policy.interval(record(feed, changed=NOW - 30 * DAY), NOW) == 24 * HOUR, "capped"
    cooled = record(feed, changed=NOW - HOT - 10 * HOUR, fetched=NOW - 4 * HOUR)
    assert policy.root_due(cooled, feed, window) == Due.LATER
    assert policy.child_due(feed, None, record(feed, changed=NOW - HOT - 10 * HOUR, fetched=NOW - 6 * HOUR),
                            window) == Due.COLD  # fmt: skip
    assert policy.root_due(record(feed, complete=False, changed=NOW - 30 * DAY), feed, window) == Due.NOW, (
        "a document whose last read failed is asked at once"
    )


def test_dated_children_the_window_since_and_lastmod() -> None:
    policy = RevisitPolicy(window_days=3)
    day = "https://ria.ru/sitemap_article.xml?date_start={0}&date_end={0}".format
    window = policy.window(NOW)
    backfill = policy.window(NOW, since=NOW - 30 * DAY, until=NOW - 10 * DAY)
    assert policy.child_due(day("20261109"), None, None, window) == Due.NOW, "a new day in the window"
    assert policy.child_due(day("20261020"), None, None, window) == Due.NEVER, "an old day, no backfill"
    assert policy.child_due(day("20261020"), None, None, backfill) == Due.BACKFILL
    assert policy.child_due(day("20261105"), None, None, backfill) == Due.NEVER, "after until, before the window"
    assert policy.child_due(day("20261001"), None, None, backfill) == Due.NEVER, "before since"
    read = record(day("20261101"), changed=NOW - 8 * DAY, fetched=NOW - 7 * DAY)
    assert policy.child_due(day("20261101"), None, read, window) == Due.NEVER, "read in full, dated before the window"
    lastmod = "2026-11-01T23:50:00+03:00"
    read = record("https://x.org/s1.xml", listed=lastmod, changed=NOW - 9 * DAY, fetched=NOW - 9 * DAY)
    assert policy.child_due("https://x.org/s1.xml", lastmod, read, window) == Due.NEVER, "its lastmod has not moved"
    assert policy.child_due("https://x.org/s1.xml", "2026-11-09T10:00:00+03:00", read, window) == Due.NOW
    current = "2026-11-10T04:00:00+03:00"  # 5 hours ago: the sitemap being written into
    read = record("https://x.org/s1.xml", listed=current, changed=NOW - HOUR, fetched=NOW - 900)
    assert policy.child_due("https://x.org/s1.xml", current, read, window) == Due.NOW, "asked though its lastmod stayed"
    assert policy.child_due("https://x.org/s2.xml", "2025-01-01", None, window) == Due.NEVER, "new, but long unchanged"
    assert policy.root_due(None, "https://x.org/sitemap-2025-01.xml", window) == Due.NOW, (
        "the sources file names it: read, whatever date its URL carries"
    )


def test_children_due_by_interval_only_share_a_budget_longest_overdue_first() -> None:
    store_records = {
        f"https://x.org/s{n}.xml": record(f"https://x.org/s{n}.xml", changed=NOW - 30 * DAY, fetched=NOW - (30 + n) * HOUR)
        for n in range(8)
    }  # fmt: skip
    store_records["https://x.org/index.xml"] = record(
        "https://x.org/index.xml", children=(("https://x.org/deep.xml", None),), changed=NOW - 30 * DAY,
        fetched=NOW - HOUR,
    )  # fmt: skip

    class Store:
        def documents(self, urls: list[str]) -> dict[str, DocumentRecord]:
            return {url: store_records[url] for url in urls if url in store_records}

    schedule = DiscoverySchedule(DocumentBook(Store(), NOW), RevisitPolicy(per_run=3))
    source = Source("s", sitemaps=("https://x.org/root.xml",), allowed_domains=("x.org",))
    links = [(url, None) for url in store_records]
    plans = schedule.children(
        source, "https://x.org/root.xml", DiscoveryKind.SITEMAP, links, 0, schedule.policy.window(NOW)
    )
    now = sorted(plan.url for plan in plans if plan.due == Due.NOW)
    assert now == ["https://x.org/deep.xml", "https://x.org/s5.xml", "https://x.org/s6.xml", "https://x.org/s7.xml"]
    assert [plan.depth for plan in plans if plan.url.endswith("deep.xml")] == [2], "an index not asked: its children"


def test_the_document_book_tells_a_changed_listing_from_an_unchanged_one() -> None:
    class Store:
        def documents(self, urls: list[str]) -> dict[str, DocumentRecord]:
            return {"https://x.org/rss": record("https://x.org/rss", digest=listing_digest([("a", None)]))}

    book = DocumentBook(Store(), NOW)
    assert book.conditional_headers("https://x.org/rss") == {}, "no validators stored"
    assert not book.read("https://x.org/rss", '"e"', None, listing_digest([("a", None)]), [], None)
    assert book.updates["https://x.org/rss"].changed == NOW - HOUR, "the same listing: it did not change"
    assert book.read("https://x.org/rss", '"e"', None, listing_digest([("a", None), ("b", None)]), [], None)
    assert book.updates["https://x.org/rss"].changed == NOW
    assert book.conditional_headers("https://x.org/rss") == {}, "validators are stored once the run is published"
    book.failed("https://x.org/other")
    assert not book.updates["https://x.org/other"].read


# --- URL dates and date templates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "first", "last"),
    [
        ("https://ria.ru/20261103/slug-1234567.html", date(2026, 11, 3), date(2026, 11, 3)),
        ("https://ria.ru/sitemap_article.xml?date_start=20261101&date_end=20261107", date(2026, 11, 1), date(2026, 11, 7)),
        ("https://x.ua/news/2026/11/03/slug", date(2026, 11, 3), date(2026, 11, 3)),
        ("https://x.ua/sitemap-2026-11-03.xml", date(2026, 11, 3), date(2026, 11, 3)),
        ("https://x.ua/archive/2026/02/", date(2026, 2, 1), date(2026, 2, 28)),
        ("https://x.ua/sitemap.xml?year=2026&month=11&day=3", date(2026, 11, 3), date(2026, 11, 3)),
        ("https://x.ua/news/1234567.html", None, None),
        ("https://x.ua/news/20261103123.html", None, None),
        ("https://tass.ru/sitemap/sitemap_news5.xml", None, None),
        ("https://x.ua/2026/13/45/", None, None),
    ],
)  # fmt: skip
def test_the_date_a_url_names(url: str, first: date | None, last: date | None) -> None:
    period = url_period(url)
    assert (period.first, period.last) == (first, last) if period else first is None


def test_date_templates_expand_newest_first_once_per_url() -> None:
    daily = "https://ria.ru/sitemap_article.xml?date_start={date:%Y%m%d}&date_end={date:%Y%m%d}"
    assert template_problem(daily) is None
    days = list(template_days(daily, date(2026, 11, 3), date(2026, 11, 1)))
    assert days == [(date(2026, 11, d), f"https://ria.ru/sitemap_article.xml?date_start=202611{d:02d}&date_end=202611{d:02d}")
                    for d in (3, 2, 1)]  # fmt: skip
    monthly = list(template_days("https://x.ua/{date:%Y/%m}/", date(2026, 11, 3), date(2026, 9, 15)))
    assert [url for _, url in monthly] == ["https://x.ua/2026/11/", "https://x.ua/2026/10/", "https://x.ua/2026/09/"]
    assert template_problem("https://x.ua/{date:%Y}/{page}") is not None
    assert template_problem("https://x.ua/news?when={date:}") is not None


def test_a_relative_since_moves_with_the_run() -> None:
    from crawler.config.windows import parse_since

    since = parse_since("30d")
    assert not isinstance(since, str) and since.start(NOW) == NOW - 30 * DAY
    fixed = parse_since(date(2026, 11, 1), today=date(2026, 11, 10))
    assert not isinstance(fixed, str) and fixed.start(NOW) == datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert parse_since(date(2026, 11, 1) + timedelta(days=30), today=date(2026, 11, 10)) == (
        "2026-12-01 is in the future; since is where a backfill starts"
    )
