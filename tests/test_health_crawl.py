"""Source health from a real crawl history: seven cron-like runs of `scrapy crawl` over a
loopback site where one source goes silent, one source's feed freezes while its sitemap
keeps going, and one starts answering block pages with 200. `scrapy sources health` must
flag exactly those, and the HTML report must render in a real headless Chromium.

The runs are seconds apart, so the HEALTH_* thresholds are scaled down to seconds."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import pytest

from crawler.exit_codes import EXIT_OK, EXIT_SOURCE_FAILED
from tests.conftest import CrawlRun, run_crawl, scrapy_command
from tests.site.server import Site

PARAGRAPHS = [
    "Уряд України оголосив про нові заходи підтримки економіки після засідання кабінету міністрів у четвер.",
    "За словами прем'єр-міністра, програма охопить малий та середній бізнес у всіх областях країни.",
    "Експерти зазначають, що рішення ухвалили після тривалих консультацій з представниками громадськості.",
    "Міністерство фінансів повідомило, що фінансування буде забезпечено з резервного фонду державного бюджету.",
]
BLOCK_PAGE = (
    "<html><head><title>Attention Required! | Cloudflare</title></head><body><h1>Sorry, you have been blocked</h1>"
    "<p>This website is using a security service to protect itself from online attacks.</p></body></html>"
)
RUNS = 8
CHANGE_AT = 5  # from this run on: quiet stops, blocked blocks
FEED_FREEZES_AFTER = 2
PACE = 2.0  # seconds at least between the starts of two runs (run times are kept in whole seconds)
# Seconds, not days: quiet for more than twice its usual gap and at least 3 s is silent.
HEALTH = [
    "-s", "HEALTH_MIN_HISTORY_DAYS=0", "-s", "HEALTH_MIN_GAPS=2", "-s", "HEALTH_SILENT_FACTOR=2",
    "-s", f"HEALTH_SILENT_MIN_HOURS={3 / 3600}",
]  # fmt: skip


def article(name: str, number: int) -> str:
    title = f"Новина {name} номер {number}: уряд ухвалив рішення"
    body = "".join(f"<p>{text} ({name} {number})</p>" for text in PARAGRAPHS)
    return f"<html lang='uk'><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"


@dataclass
class Outlet:
    """One source of the site: articles behind a feed and a sitemap."""

    site: Site
    name: str
    published: list[tuple[int, float]] = field(default_factory=list)
    feed_frozen: bool = False
    blocking: bool = False

    def publish(self) -> None:
        number = len(self.published)
        self.published.append((number, time.time()))
        self.site.add(f"/{self.name}/{number}.html", BLOCK_PAGE if self.blocking else article(self.name, number))
        items = "".join(
            f"<item><title>{self.name} {n}</title><link>{self.site.url(f'/{self.name}/{n}.html')}</link>"
            f"<pubDate>{formatdate(at, usegmt=True)}</pubDate></item>"
            for n, at in reversed(self.published)
        )
        if not self.feed_frozen:
            self.site.add(
                f"/{self.name}/feed.xml", f"<rss version='2.0'><channel>{items}</channel></rss>", "application/rss+xml"
            )
        urls = "".join(
            f"<url><loc>{self.site.url(f'/{self.name}/{n}.html')}</loc><lastmod>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(at))}</lastmod></url>"
            for n, at in self.published
        )
        sitemap = f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"
        self.site.add(f"/{self.name}/sitemap.xml", sitemap, "application/xml")

    def entry(self) -> str:
        return (
            f"  - name: {self.name}\n    language: uk\n    translate: false\n"
            f"    feeds: [{self.site.url(f'/{self.name}/feed.xml')}]\n"
            + (f"    sitemaps: [{self.site.url(f'/{self.name}/sitemap.xml')}]\n" if self.name == "frozen" else "")
        )


@dataclass
class History:
    tmp: Path
    sources_yaml: str
    runs: list[CrawlRun]

    def command(self, *args: str) -> subprocess.CompletedProcess:
        return scrapy_command(
            "sources", *args, "-s", f"SOURCES_FILE={self.tmp / 'sources.yaml'}",
            "-s", f"STATE_DB={self.tmp / 'state.sqlite3'}", *HEALTH,
        )  # fmt: skip


def _past_gaps(times: list[float], since: float) -> float:
    """A moment clearly more than twice the longest gap between ``times`` after ``since``."""
    return since + 2.5 * max(b - a for a, b in itertools.pairwise(times)) + 1


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    tmp = tmp_path_factory.mktemp("health")
    with Site() as site:
        outlets = {name: Outlet(site, name) for name in ("steady", "quiet", "frozen", "blocked")}
        sources_yaml = "sources:\n" + "".join(outlet.entry() for outlet in outlets.values())
        runs = []
        started = 0.0
        for number in range(1, RUNS + 1):
            time.sleep(max(0.0, started + PACE - time.time()))
            if number == RUNS:
                # On a loaded machine runs take longer than PACE (a stalled run start was seen to
                # open a 15 s gap), and the usual gaps grow with them: quiet's silence and the age
                # of frozen's feed before the last run are made clearly longer than those gaps.
                quiet = [at for _, at in outlets["quiet"].published]
                frozen = [at for _, at in outlets["frozen"].published]
                time.sleep(max(0.0, _past_gaps(quiet, quiet[-1]) - time.time(),
                               _past_gaps(frozen, frozen[FEED_FREEZES_AFTER - 1]) - time.time()))  # fmt: skip
            started = time.time()
            outlets["frozen"].feed_frozen = number > FEED_FREEZES_AFTER
            outlets["blocked"].blocking = number >= CHANGE_AT
            for outlet in outlets.values():
                if not (outlet.name == "quiet" and number >= CHANGE_AT):
                    outlet.publish()
                if outlet.name == "blocked":
                    # Two a run: a blocked page is asked again only after a pause (the retry
                    # frontier), so degraded is judged on this run's new pages, 6 in 3 runs.
                    outlet.publish()
            runs.append(
                run_crawl(tmp, sources_yaml, "-s", "TRANSLATION_PROVIDER=none", *HEALTH, output=f"run{number}.jsonl")
            )
            assert runs[-1].returncode == EXIT_OK, runs[-1].stderr[-3000:]
        yield History(tmp, sources_yaml, runs)


def test_the_run_summary_and_log_name_the_flagged_sources(history: History) -> None:
    last = history.runs[-1]
    assert last.output is not None
    summary = json.loads(last.output.with_name(last.output.name + ".summary.json").read_text(encoding="utf-8"))
    flags = {name: set(source["health"]["flags"]) for name, source in summary["sources"].items()}
    assert flags["steady"] == set()
    assert "silent" in flags["quiet"]
    assert flags["frozen"] == {"frozen"}, "articles still come through its sitemap: frozen, not silent"
    assert "degraded" in flags["blocked"]
    assert sorted(summary["flagged_sources"]) == ["blocked", "frozen", "quiet"]
    warnings = [line for line in last.stderr.splitlines() if "WARNING" in line and "Source " in line]
    assert len(warnings) == 3 and all(" is " in line for line in warnings), warnings
    assert summary["sources"]["blocked"]["refused"].get("blocked", 0) >= 1
    first = json.loads(Path(str(history.runs[0].output) + ".summary.json").read_text(encoding="utf-8"))
    assert first["flagged_sources"] == [], "the first run knows no rhythm: nothing is flagged"


def test_sources_health_flags_exactly_the_broken_sources_and_exits_non_zero(history: History) -> None:
    result = history.command("health", "--json")
    assert result.returncode == EXIT_SOURCE_FAILED, result.stderr[-2000:]
    report = json.loads(result.stdout)
    flagged = {name for name, source in report.items() if source["flags"]}
    assert flagged == {"quiet", "frozen", "blocked"}
    assert report["steady"]["new_per_day"][-1] == RUNS
    assert report["blocked"]["refusals"].get("blocked", 0) >= 1
    table = history.command("health")
    assert table.returncode == EXIT_SOURCE_FAILED
    assert "quiet: nothing new for" in table.stdout and "frozen: its documents answer" in table.stdout
    listing = history.command("list")
    assert listing.returncode == EXIT_OK
    rows = {line.split()[0]: line for line in listing.stdout.splitlines() if line.split()}
    assert "frozen" in rows["frozen"].split() and " ok " in rows["steady"]


def test_sources_health_exits_0_when_the_flagged_sources_are_disabled(history: History) -> None:
    yaml = history.sources_yaml
    for name in ("quiet", "frozen", "blocked"):
        yaml = yaml.replace(f"  - name: {name}\n", f"  - name: {name}\n    enabled: false\n")
    (history.tmp / "disabled.yaml").write_text(yaml, encoding="utf-8")
    result = scrapy_command(
        "sources", "health", "-s", f"SOURCES_FILE={history.tmp / 'disabled.yaml'}",
        "-s", f"STATE_DB={history.tmp / 'state.sqlite3'}", *HEALTH,
    )  # fmt: skip
    assert result.returncode == EXIT_OK, result.stdout


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def test_the_report_renders_in_headless_chromium_with_a_chart_per_source(history: History, tmp_path: Path) -> None:
    browser = chromium()
    page = tmp_path / "report.html"
    made = history.command("report", "--output", str(page))
    assert made.returncode == EXIT_OK, made.stderr[-2000:]
    assert not list(tmp_path.glob(".*.part")), "written atomically: no temporary file left"
    with Site() as watcher:
        # Every request Chromium makes goes through this proxy: the page must make none.
        flags = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", f"--proxy-server={watcher.base}",
            "--proxy-bypass-list=<-loopback>", f"--user-data-dir={tmp_path / 'profile'}",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter",
        ]  # fmt: skip
        dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90)
        shot = tmp_path / "report.png"
        subprocess.run(
            [*flags, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()],
            capture_output=True, timeout=90,
        )  # fmt: skip
        hits = list(watcher.hits)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    rows = html.count("<tr data-source=")
    assert rows == 4, html[:2000]
    assert html.count('<svg class="chart"') == 4, "a chart per source"
    for name in ("quiet", "frozen", "blocked"):
        assert f'data-source="{name}" data-flags="' in html and f'data-source="{name}" data-flags=""' not in html
    assert 'data-source="steady" data-flags=""' in html
    assert 'class="flag">frozen<' in html and 'class="flag">degraded<' in html
    assert "characters sent to the provider" in html and "uk " in html
    assert hits == [], [f"{hit.host}{hit.path}" for hit in hits]
    assert shot.exists() and shot.stat().st_size > 10_000
    print(f"screenshot {shot}: {shot.stat().st_size} bytes")
