"""One count, one meaning, and failures the operator sees: a translation outage of three runs
and a recovery, with every figure compared across the run summary (its JSON and the log's
table), the log's translation line, `scrapy sources list`, `health` and the HTML report; and a
source whose every article is refused. Both end in documented exit statuses, not in 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

from crawler.exit_codes import EXIT_DEGRADED, EXIT_OK, EXIT_SOURCE_FAILED
from tests.conftest import CrawlRun, run_crawl, scrapy_command
from tests.site.newsroom import Newsroom
from tests.site.server import Site
from tests.site.translators import FakeTranslator


def summary_of(run: CrawlRun) -> dict:
    assert run.output is not None
    return json.loads(run.output.with_name(run.output.name + ".summary.json").read_text(encoding="utf-8"))


def logged_chars(run: CrawlRun) -> int:
    return int(re.search(r"Translation \(google\): .* (\d+) characters sent", run.stderr).group(1))  # type: ignore[union-attr]


def table_row(run: CrawlRun, source: str) -> dict[str, str]:
    """The source's row of the log's run-summary table, by column (columns are 2+ spaces apart)."""
    table = run.stderr.split("Run summary:")[1].splitlines()[1:]
    header = re.split(r"\s{2,}", table[0].strip())
    row = next(line for line in table if line.startswith(source + " "))
    return dict(zip(header, re.split(r"\s{2,}", row.strip()), strict=False))


def test_an_outage_and_a_recovery_tell_one_story_everywhere(tmp_path: Path, newsroom: Newsroom) -> None:
    state = ["-s", f"SOURCES_FILE={tmp_path / 'sources.yaml'}", "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}"]
    with FakeTranslator() as fake:
        google = ["-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={fake.url('/m')}"]
        google += ["-s", "TRANSLATION_BACKOFF=0.01"]
        fake.mode = ("status", 503)
        # The feeds source alone (its RSS and Atom feeds list all twelve): with the sitemap source
        # beside it, which of the two delivers an article depends on which document answers first.
        sources = newsroom.sources_yaml().split("  - name: sitemap")[0]
        runs = [run_crawl(tmp_path, sources, *google, output=f"run{n}.jsonl") for n in range(3)]
        down = scrapy_command("sources", "health", "--json", *state)
        report = tmp_path / "down.html"
        scrapy_command("sources", "report", "--output", str(report), *state)
        fake.mode = ("ok",)
        runs.append(run_crawl(tmp_path, sources, *google, output="run3.jsonl"))
        sent_to_fake = fake.chars
    assert [run.returncode for run in runs] == [EXIT_DEGRADED] * 3 + [EXIT_OK], [r.stderr[-2000:] for r in runs]
    summaries = [summary_of(run) for run in runs]
    first = summaries[0]
    translating = [name for name, figures in first["sources"].items() if figures["translation_failed"]]
    assert "feeds" in translating and first["degraded_sources"] == translating and first["failed_sources"] == []
    assert first["sources"]["feeds"]["status"] == "untranslated"
    assert "every translation failed: " in first["sources"]["feeds"]["reason"]
    assert "the provider answered with errors (" in first["sources"]["feeds"]["reason"]
    assert "Source feeds: every translation failed" in runs[0].stderr, "a WARNING line says why"
    assert "  feeds: every translation failed" in runs[0].stderr.split("Run summary:")[1], "under the table too"

    # One meaning per count, run by run: the JSON, the table and the log agree.
    for run, summary in zip(runs, summaries, strict=True):
        totals = summary["totals"]
        assert totals["translation_chars"] == logged_chars(run), "characters sent: the summary and the log"
        for name, figures in summary["sources"].items():
            row = table_row(run, name)
            for column, key in (("discovered", "discovered"), ("new", "new"), ("unchanged", "unchanged"),
                                ("emitted", "emitted"), ("translated", "translated"), ("tr. failed", "translation_failed"),
                                ("tr. chars", "translation_chars"), ("status", "status")):  # fmt: skip
                assert row[column] == str(figures[key]), (name, column, row)
            assert row["updated"].split()[0] == str(figures["updated"])
    assert sum(s["totals"]["translation_chars"] for s in summaries) == sent_to_fake, "and what the provider received"
    assert [s["totals"]["new"] for s in summaries] == [12, 0, 0, 0]
    assert [s["totals"]["translation_failed"] for s in summaries] == [12, 0, 0, 0], "an article fails once"
    assert [s["totals"]["untranslated"] for s in summaries] == [12, 12, 12, 0]
    assert [s["totals"]["translated"] for s in summaries] == [0, 0, 0, 12]
    assert [s["totals"]["retranslated"] for s in summaries] == [0, 0, 0, 12]

    health = json.loads(down.stdout)
    assert down.returncode == EXIT_SOURCE_FAILED and "translation_failing" in health["feeds"]["flags"], down.stdout
    assert "every translation failed in the last 3 runs" in " ".join(health["feeds"]["reasons"])
    page = report.read_text(encoding="utf-8")
    attention = page[page.index('<section id="attention">') : page.index('<section class="totals"')]
    assert "translation_failing" in attention and "feeds" in attention, "the report says it at the top"
    after = scrapy_command("sources", "health", "--json", *state)
    assert "translation_failing" not in json.loads(after.stdout)["feeds"]["flags"], "the provider is back"

    final = tmp_path / "after.html"
    scrapy_command("sources", "report", "--output", str(final), *state)
    page = final.read_text(encoding="utf-8")
    totals = page[page.index('<section class="totals"') :]
    for label, value in (("new articles", 12), ("revisions", 0), ("translated", 12), ("translation failed", 12),
                         ("untranslated now", 0)):  # fmt: skip
        assert f"{label}: <b>{value}</b>" in totals, (label, totals[:600])
    chars = sum(s["totals"]["translation_chars"] for s in summaries)
    assert f"characters sent to the provider: <b>{chars:,}</b>" in totals
    listing = scrapy_command("sources", "list", *state)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("feeds "))
    figures = summaries[-1]["sources"]["feeds"]
    cells = row.split()
    assert [int(c) for c in cells[3:7]] == [figures[k] for k in ("new", "updated", "unchanged", "emitted")], row


def test_a_source_whose_articles_are_all_refused_says_so(tmp_path: Path, site: Site) -> None:
    # Article links to another loopback address than the one the sources file names: refused by
    # the network guard before any connection.
    port = site.url("/").rsplit(":", 1)[1].strip("/")
    items = "".join(
        f"<item><title>{n}</title><link>http://127.0.0.2:{port}/news/{n}.html</link></item>" for n in range(3)
    )
    site.add("/rss.xml", f"<rss version='2.0'><channel>{items}</channel></rss>", content_type="application/rss+xml")
    sources = f"sources:\n  - name: walled\n    feeds: [{site.url('/rss.xml')}]\n    allowed_domains: [127.0.0.2]\n"
    run = run_crawl(tmp_path, sources, "-s", "TRANSLATION_PROVIDER=none")
    assert run.returncode == EXIT_DEGRADED, run.stderr[-2000:]
    walled = summary_of(run)["sources"]["walled"]
    assert walled["status"] == "refused" and walled["not_emitted"] == {"private_address": 3}
    assert "all 3 articles fetched were refused (private_address 3)" in walled["reason"]
    assert "NETWORK_ALLOW_HOSTS" in walled["reason"] and "NETWORK_ALLOW_HOSTS" in run.stderr
    health = scrapy_command(
        "sources", "health", "--json", "-s", f"SOURCES_FILE={tmp_path / 'sources.yaml'}",
        "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}",
    )  # fmt: skip
    assert health.returncode == EXIT_SOURCE_FAILED and json.loads(health.stdout)["walled"]["flags"] == ["refused"]


def test_a_source_whose_links_all_lead_off_its_domains_says_so(tmp_path: Path, site: Site) -> None:
    """A feed served from one domain that links to another (feedburner, a CDN host): nothing is
    asked, which used to read as an ok source with nothing new."""
    items = "".join(f"<item><title>{n}</title><link>https://news.example.org/{n}.html</link></item>" for n in range(4))
    site.add("/rss.xml", f"<rss version='2.0'><channel>{items}</channel></rss>", content_type="application/rss+xml")
    run = run_crawl(tmp_path, f"sources:\n  - name: elsewhere\n    feeds: [{site.url('/rss.xml')}]\n")
    assert run.returncode == EXIT_DEGRADED, run.stderr[-2000:]
    elsewhere = summary_of(run)["sources"]["elsewhere"]
    assert elsewhere["status"] == "refused" and "all 4 links" in elsewhere["reason"]
    assert "allowed_domains" in elsewhere["reason"]
    assert set(site.counts()) <= {"/rss.xml", "/robots.txt"}, "only the feed was asked"
    assert elsewhere["not_emitted"] == {"offsite": 4} and run.stats.get("downloader/request_count", 0) <= 2
    health = scrapy_command(
        "sources", "health", "--json", "-s", f"SOURCES_FILE={tmp_path / 'sources.yaml'}",
        "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}",
    )  # fmt: skip
    assert health.returncode == EXIT_SOURCE_FAILED and json.loads(health.stdout)["elsewhere"]["flags"] == ["refused"]
