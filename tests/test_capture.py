"""Capture on sites that change between runs: 12 cron-like runs over the timeline site.

Each shape of tests/site/timeline.py publishes, edits, removes and moves real
news texts between runs; tests/site/capture.py holds the crawler's output
against that ground truth. One simulation serves every test here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.site.capture import ShapeResult, simulated_report
from tests.site.timeline import SHAPES as ALL_SHAPES

# The first simulated weeks (tests/site/timeline.py); test_capture_resilience.py runs the rest.
SHAPES = {key: shape for key, shape in ALL_SHAPES.items() if key in "abcdefgh"}

RUNS = 12


@pytest.fixture(scope="module")
def capture(corpus_available: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return simulated_report(tmp_path_factory.mktemp("timeline"), RUNS, timeout=240)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_article_comes_out_once_in_the_first_run_after_it_appears(
    results: dict[str, ShapeResult], shape: str
) -> None:
    result = results[shape]
    assert result.published >= 20, "the shape publishes enough to mean something"
    assert result.on_time == result.published, result.missed
    assert not result.unexplained, "no record beyond the ones the site's events call for"


@pytest.mark.parametrize("shape", [key for key in sorted(SHAPES) if key in "abd"])
def test_every_announced_edit_comes_out_once_as_the_next_revision(results: dict[str, ShapeResult], shape: str) -> None:
    result = results[shape]
    assert result.edits >= 2
    assert result.edits_caught == result.edits, result.missed


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_no_article_page_is_downloaded_twice_unless_announced(results: dict[str, ShapeResult], shape: str) -> None:
    assert results[shape].needless_downloads == 0, results[shape].downloads


def test_output_urls_carry_no_tracking_parameters(results: dict[str, ShapeResult]) -> None:
    assert {shape: result.tracked_urls for shape, result in results.items() if result.tracked_urls} == {}


def test_an_unchanged_sitemap_index_still_gets_its_children_checked(capture: dict[str, Any]) -> None:
    later = capture["runs"][1:]
    asked = 0
    for run in later:
        index = [hit for hit in run["hits"] if hit[1] == "/a/sitemap-index.xml"]
        children = [hit for hit in run["hits"] if hit[1] in ("/a/sitemap-news.xml", "/a/sitemap-archive.xml")]
        assert all("If-None-Match" in hit[2] for hit in index), "when asked, the index is asked conditionally"
        assert len(children) == 2 and all("If-None-Match" in hit[2] for hit in children), (
            "each child is asked for, with its own validators, whether or not the index was"
        )
        if index:
            assert run["stats"].get("sources/a-stable-index/discovery/not_modified", 0) >= 1, "the index answered 304"
        asked += bool(index)
    assert 0 < asked < len(later), "an index unchanged for days is asked less often than every run, but still asked"


def test_a_busy_listing_is_read_past_its_first_page_only_when_needed(capture: dict[str, Any]) -> None:
    pages = [sum(1 for hit in run["hits"] if hit[1].startswith("/h/news/?page=")) for run in capture["runs"]]
    assert any(pages), "some runs needed page 2 or more"
    quiet = [
        run["run"]
        for run in capture["runs"][1:]
        if sum(1 for record in run["records"] if record["source"] == SHAPES["h"][0]) <= 2
    ]
    assert quiet and all(pages[number] <= 1 for number in quiet), "a quiet run reads one page (two at most)"
