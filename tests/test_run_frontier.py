"""The spider's frontier for one run (crawler/frontier/run_frontier.py): quotas, links skipped
as known and reopened, the richest feed entry, and what a pause under JOBDIR keeps."""

from __future__ import annotations

import pickle

from crawler.config.sources_file import Source
from crawler.frontier.book import FrontierEntry
from crawler.frontier.run_frontier import Quotas, RunFrontier
from crawler.parsing.feeds import FeedEntry
from crawler.parsing.kinds import DiscoveryKind

CAPPED = Source(name="capped", feeds=("https://a.org/rss",), max_articles=3)
OPEN = Source(name="open", feeds=("https://b.org/rss",))


def test_quotas_come_from_the_source_the_setting_and_the_run_limit() -> None:
    assert Quotas().of(OPEN) is None and Quotas(default=500).of(OPEN) == 500
    assert Quotas(default=500).of(CAPPED) == 3, "a source's own max_articles wins over the setting"
    assert Quotas(default=500, limit=2).of(CAPPED) == 2 and Quotas(limit=5).of(CAPPED) == 3
    assert Quotas(limit=2).of(OPEN) == 2, "-a limit caps a source without any other limit"
    frontier = RunFrontier(Quotas(default=500))
    for number in range(3):
        frontier.requested(f"k{number}", "capped")
    assert frontier.quota_left(CAPPED) == 0 and frontier.quota_left(OPEN) == 500


def test_a_known_link_is_skipped_until_another_document_says_it_changed() -> None:
    frontier = RunFrontier(Quotas())
    frontier.skip_known("article-link", "id1")
    frontier.skip_known("non-article", "")
    assert frontier.seen("article-link") and frontier.skipped("article-link")
    assert frontier.reopen("article-link") is True, "it was counted as an unchanged article"
    assert not frontier.seen("article-link") and not frontier.skipped("article-link")
    assert frontier.reopen("non-article") is False, "a page known to hold no article was not counted"


def test_the_richest_entry_of_a_link_is_kept() -> None:
    frontier = RunFrontier(Quotas())
    bare = FeedEntry("https://a.org/1")
    rich = FeedEntry("https://a.org/1", title="T", published="2026-12-01T00:00:00Z", summary="S")
    frontier.note_entry("k", rich)
    frontier.note_entry("k", bare)
    assert frontier.entry("k") is rich
    frontier.note_entry("j", bare)
    frontier.note_entry("j", rich)
    assert frontier.entry("j") is rich and frontier.entry("none") is None


def test_a_paused_run_resumes_with_what_it_had_in_flight_and_asks_for_none_of_it_twice() -> None:
    frontier = RunFrontier(Quotas(default=2))
    frontier.requested("k1", "capped")
    frontier.requested("k2", "capped")
    frontier.answered("k2")
    frontier.ask("capped", "https://a.org/rss", "fresh")
    frontier.ask("capped", "https://a.org/sitemap.xml", "backfill")
    frontier.document_answered("capped", "https://a.org/rss", "fresh")
    job: dict = {"other": 1}
    frontier.save(job)
    job = pickle.loads(pickle.dumps(job))  # as Scrapy's SpiderState keeps it

    resumed = RunFrontier(Quotas(default=2))
    documents = resumed.resume(job)
    assert documents == [("capped", "https://a.org/sitemap.xml", "backfill")]
    assert resumed.seen("k1") and not resumed.seen("k2"), "only what was still in flight comes back"
    assert resumed.asked("capped", "https://a.org/sitemap.xml") and not resumed.asked("capped", "https://a.org/rss")
    assert resumed.quota_left(CAPPED) == 2, "a page in flight counts against the quota (3) once"
    assert job == {"other": 1}, "the frontier's keys leave the job state"
    owed = [FrontierEntry(key, f"https://a.org/{key}", "capped", DiscoveryKind.FEED, "x") for key in ("k1", "k3")]
    assert [entry.key for entry in resumed.unseen(owed)] == ["k3"]
