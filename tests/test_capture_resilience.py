"""Bad moments, big archives and backfills: 8 cron-like runs, 8 hours apart, over the shapes of
tests/site/resilience.py, on a fake clock shared by crawler and site (tests/site/clock.py).

* i: pages that fail (503, a stall past the download timeout, a reset) in the one run whose
  feed lists them come out by the run after the failure clears, though no feed lists them then;
* j, k: an index of 1,000 daily sitemaps costs at most 10 discovery requests a run, and its
  history older than the watched window is never fetched;
* l, m: a backfill to ``since`` over daily sitemaps (a date template) and over a paginated
  archive is complete, emits each article once, takes several runs under max_articles, and
  new articles still come out in the run they appear.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.site.capture import SETTLED_AFTER, ShapeResult, simulated_report
from tests.site.resilience import DOWNLOAD_TIMEOUT, MORE_SHAPES

RUNS = 8
# The bound for an index of daily sitemaps once settled.
MAX_DISCOVERY_PER_RUN = 10


@pytest.fixture(scope="module")
def capture(corpus_available: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    shapes = ["--shapes", "".join(MORE_SHAPES), "--set", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}"]
    # Extraction in a worker process: inline, it holds the reactor long enough on a loaded machine
    # for pages that answer at once to pass the short timeout shape i needs.
    return simulated_report(tmp_path_factory.mktemp("resilience"), RUNS, *shapes, "--set", "EXTRACTION_WORKERS=1")


@pytest.mark.parametrize("shape", sorted(MORE_SHAPES))
def test_every_new_article_comes_out_once_on_time_and_nothing_is_fetched_needlessly(
    results: dict[str, ShapeResult], shape: str
) -> None:
    result = results[shape]
    assert result.published >= 2 * RUNS, "the shape publishes enough to mean something"
    assert result.on_time == result.published and result.lost == 0, result.missed
    assert not result.unexplained, "no record beyond the ones the site's events call for"
    assert result.needless_downloads == 0, result.downloads


def test_failed_pages_are_asked_again_though_no_feed_lists_them(capture: dict[str, Any]) -> None:
    stats = [run["stats"] for run in capture["runs"]]
    retried = sum(run.get("sources/i-failing-feed/retried", 0) for run in stats)
    events = [e for e in capture["events"] if e["shape"] == "i" and e["run"] < RUNS]
    failing = {e["number"] for e in events if e["kind"] == "failing"}
    cleared = {e["number"] for e in events if e["kind"] == "publish" and e["number"] in failing}
    # Each page is asked again in every later run of its failure, and in the run it clears.
    again = sum(1 for e in events if e["kind"] == "failing") - len(failing) + len(cleared)
    assert len(failing) >= 8 and retried == again, (retried, again)
    feed_hits = [[hit for hit in run["hits"] if hit[1] == "/i/rss.xml"] for run in capture["runs"]]
    assert all(len(hits) == 1 for hits in feed_hits), "the feed is read once a run, and it lists only the newest"
    pending = [run.get("sources/i-failing-feed/retry_pending", 0) for run in stats]
    assert max(pending) >= 2 and pending[-1] <= 2, "the summary counts the pages still to be asked again"


@pytest.mark.parametrize("shape", ["j", "k"])
def test_an_index_of_daily_sitemaps_costs_a_few_requests_a_run(results: dict[str, ShapeResult], shape: str) -> None:
    result = results[shape]
    assert result.discovery[0] <= MAX_DISCOVERY_PER_RUN, "the first run reads the watched days, not 1,000"
    assert result.settled_discovery <= MAX_DISCOVERY_PER_RUN, result.discovery
    if shape == "k":
        # The lastmod decides: the index and the sitemap(s) whose lastmod moved.
        assert max(result.discovery[SETTLED_AFTER:]) <= 3, result.discovery


@pytest.mark.parametrize("shape", ["l", "m"])
def test_a_backfill_is_complete_once_across_runs(
    capture: dict[str, Any], results: dict[str, ShapeResult], shape: str
) -> None:
    result = results[shape]
    assert result.backfill >= 60 and result.backfilled_once == result.backfill, result.missed[:10]
    name = MORE_SHAPES[shape][0]
    per_run = [sum(1 for record in run["records"] if record["source"] == name) for run in capture["runs"]]
    busy = [count for count in per_run if count > 2]
    assert len(busy) >= 3, f"max_articles spreads the backfill over several runs: {per_run}"
    backlog = [run["stats"].get(f"sources/{name}/backlog", 0) + run["stats"].get(f"sources/{name}/discovery/backfill", 0)
               for run in capture["runs"]]  # fmt: skip
    done = next(number for number, count in enumerate(per_run) if number > 0 and count <= 2)
    assert all(result.discovery[number] <= MAX_DISCOVERY_PER_RUN for number in range(done, RUNS)), result.discovery
    assert backlog[-1] == 0, "nothing of the archive is left owed"


def test_days_before_since_are_never_asked(capture: dict[str, Any]) -> None:
    asked = [hit[1] for run in capture["runs"] for hit in run["hits"] if hit[1].startswith("/l/sitemap.xml")]
    since = next(line for line in (capture.get("sources_yaml") or "").splitlines() if "since:" in line)
    assert asked and since
    days = sorted({path.rsplit("=", 1)[1] for path in asked})
    assert days[0] >= since.split(":", 1)[1].strip(), "no sitemap of a day before since"
