"""Evidence, judged over simulated days of cron runs (tests/site/evidence.py, under libfaketime):
edits the site never announces, removals of four kinds, pages that are gone for a while and
come back, and the WARC archive read back with warcio."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.parsing.article import extract_article
from crawler.parsing.records import Article, ExtractionOptions
from tests.conftest import ROOT, scrapy_command
from tests.site.clock import require_libfaketime

NUMBER = re.compile(r"/news/politics/(\d{4})-story")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, corpus_available: None) -> dict[str, Any]:
    require_libfaketime()
    workdir = tmp_path_factory.mktemp("evidence")
    command = [sys.executable, "-m", "tests.site.evidence", "--workdir", str(workdir)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads((workdir / "report.json").read_text(encoding="utf-8"))
    loaded["workdir"] = str(workdir)
    return loaded


def _number(record: dict[str, Any]) -> int:
    match = NUMBER.search(record["url"]) or NUMBER.search(record["canonical_url"])
    assert match, record["url"]
    return int(match.group(1))


def _changes(report: dict[str, Any]) -> dict[int, list[tuple[str, float]]]:
    found: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for run in report["runs"]:
        for record in run["records"]:
            if record["revision"] > 1:
                found[_number(record)].append(((record["change"] or {}).get("kind"), run["hour"]))
    return dict(found)


def test_every_change_comes_out_once_at_the_first_check_after_it(report: dict[str, Any]) -> None:
    expected = {int(number): [tuple(event) for event in events] for number, events in report["expected"].items()}
    assert _changes(report) == expected, "edits at the first revisit after them, removals once confirmed, no others"


def test_first_run_delivers_each_article_once_and_nothing_false(report: dict[str, Any]) -> None:
    first = report["runs"][0]["records"]
    assert sorted(_number(r) for r in first) == list(range(1, 15))
    assert all(r["change"] is None and r["revision"] == 1 for r in first)
    removed = {
        _number(r) for run in report["runs"] for r in run["records"] if (r["change"] or {}).get("kind") == "removed"
    }
    # 404 for two hours, 503 for four, a redirect to the article's new address, a text rewritten
    # whole: never removals.
    assert not removed & {8, 9, 12, 14}


def test_what_changed_is_said(report: dict[str, Any]) -> None:
    by_number = {_number(r): r for run in report["runs"] for r in run["records"] if r["revision"] == 2}
    paragraph = by_number[1]["change"]
    assert paragraph["found_by"] == "revisit" and paragraph["title"] is None
    assert [c["index"] for c in paragraph["paragraphs"]["changed"]] == [2]
    assert paragraph["paragraphs"]["changed"][0]["after"].endswith("42 особи.")
    assert paragraph["previous_content_hash"] == next(
        r["content_hash"] for r in report["runs"][0]["records"] if _number(r) == 1
    )
    headline = by_number[2]["change"]
    assert headline["title"]["after"].startswith("Оновлено: ") and not headline["title"]["before"].startswith(
        "Оновлено"
    )
    assert by_number[2]["title"] == headline["title"]["after"]
    added = by_number[3]["change"]["paragraphs"]
    assert [a["text"][:14] for a in added["added"]] == ["Додано пізніше"] and not added["changed"]


def test_removal_records_carry_the_http_evidence(report: dict[str, Any]) -> None:
    reasons = {4: "http_404", 5: "http_410", 6: "redirect_home", 7: "soft_404", 10: "http_404", 13: "soft_404"}
    for run in report["runs"]:
        for record in run["records"]:
            change = record["change"] or {}
            if change.get("kind") != "removed":
                continue
            evidence = change["evidence"]
            assert evidence["reason"] == reasons[_number(record)]
            first, second = evidence["checks"]
            assert first["at"] < second["at"], "two checks"
            hours = (_epoch(second["at"]) - _epoch(first["at"])) / 3600
            assert hours >= 1, "at least an hour apart"
            delivered = next(r for r in report["runs"][0]["records"] if _number(r) == _number(record))
            assert (record["text"], record["title"]) == (delivered["text"], delivered["title"]), "what was removed"
            if evidence["reason"] == "redirect_home":
                assert urlsplit(second["final_url"]).path == "/" and second["url"] != second["final_url"]
            else:
                assert second["final_url"] == second["url"]


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_revisits_are_conditional_and_cheap(report: dict[str, Any]) -> None:
    article_hits = [hit for run in report["runs"][1:] for hit in run["hits"] if NUMBER.search(hit[1])]
    conditional = [hit for hit in article_hits if hit[2]]
    assert len(conditional) >= 0.8 * len(article_hits), "checks send the validators of the last answer"
    not_modified = sum(run["stats"].get("sources/vesti/revisits/not_modified", 0) for run in report["runs"])
    revisits = sum(run["stats"].get("sources/vesti/revisits", 0) for run in report["runs"])
    assert revisits and not_modified >= revisits / 2, (not_modified, revisits)
    # Four ages per article, plus confirmations and retries; not a request per run per article.
    articles = len(report["paths"])
    assert revisits <= articles * 4 + 12, revisits
    # The feed lists the first twelve all along and changes every run: each still had its checks.
    checked = {match.group(1) for hit in article_hits if hit[2] and (match := NUMBER.search(hit[1]))}
    assert {f"{n:04d}" for n in range(1, 15)} <= checked


def test_warc_files_are_whole_and_give_back_each_record(report: dict[str, Any]) -> None:
    warc = Path(report["workdir"]) / "warc"
    assert not list(warc.glob("*.open")), "every file closed and renamed"
    files = sorted(warc.glob("*.warc.gz"))
    assert len(files) >= len(report["runs"]) - 4, "rotated and closed every run"
    kinds: dict[str, int] = defaultdict(int)
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                kinds[record.rec_type] += 1
                record.content_stream().read()
    assert kinds["response"] and kinds["request"] and kinds["revisit"], dict(kinds)
    checked = 0
    for run in report["runs"]:
        for record in run["records"]:
            pointer = record["warc"]
            assert pointer and Path(pointer["file"]).exists(), record["url"]
            with open(pointer["file"], "rb") as stream:
                stream.seek(pointer["offset"])
                stored = next(iter(ArchiveIterator(stream)))
            assert stored.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
            if (record["change"] or {}).get("kind") == "removed":
                assert stored.http_headers.get_statuscode() == str(record["change"]["evidence"]["checks"][1]["status"])
                continue
            if stored.rec_type == "revisit":  # back unchanged: a 304 to the validators of the record before
                assert record["change"]["kind"] == "restored" and stored.http_headers.get_statuscode() == "304"
                continue
            body = stored.content_stream().read()
            url = stored.rec_headers.get_header("WARC-Target-URI")
            article = extract_article(body, ExtractionOptions(url=url, language_hint="uk"))
            assert isinstance(article, Article) and article.text == record["text"], record["url"]
            checked += 1
    assert checked >= 12 + 4


def test_show_gives_an_article_as_its_site_served_it(report: dict[str, Any]) -> None:
    workdir = Path(report["workdir"])
    edited = next(r for r in report["runs"][2]["records"] if r["change"])
    settings = ("-s", f"STATE_DB={workdir / 'state.sqlite3'}", "-s", f"SOURCES_FILE={workdir / 'sources.yaml'}")
    shown = scrapy_command("sources", "show", edited["id"], *settings)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "Edited without notice at" in shown.stdout and "paragraph 2 changed" in shown.stdout
    assert "HTTP/1.1 200 OK" in shown.stdout and "the same as the record's text" in shown.stdout
    page = scrapy_command("sources", "show", edited["url"], "--html", *settings)
    assert page.returncode == 0 and "42 особи" in page.stdout and page.stdout.lstrip().startswith("<!doctype html>")
    unknown = scrapy_command("sources", "show", "0" * 20, *settings)
    assert unknown.returncode == 2 and "no delivered article" in unknown.stderr
