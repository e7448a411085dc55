"""Reading web archives for a backfill (crawler/archives): WARC files built with warcio from
real corpus pages, with the faults real archives have."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archives.selection import SourceIndex
from crawler.archives.warc_pages import RECORDS, Skipped, Wanted, read_pages
from crawler.config.sources_file import Source
from tests.site.bulk import corpus_pool

SOURCES = (
    Source(name="pravda", feeds=("https://www.pravda.com.ua/rss/",), allowed_domains=("pravda.com.ua",)),
    Source(name="ria", feeds=("https://ria.ru/export/rss2/index.xml",), allowed_domains=("ria.ru",)),
)


@pytest.fixture(scope="module")
def pages(corpus_available: None) -> list[bytes]:
    return corpus_pool(12)


def _record(writer: WARCWriter, url: str, body: bytes, content_type: str = "text/html; charset=utf-8",
            status: str = "200 OK", day: int = 1) -> None:  # fmt: skip
    http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    date = datetime(2026, 11, day, 12, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                  warc_headers_dict={"WARC-Date": date}))  # fmt: skip


def _pages_only(pages: list[bytes], gzip: bool = True, first: int = 0) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip, warc_version="1.1")
    for n, page in enumerate(pages, first):
        _record(writer, f"https://www.pravda.com.ua/news/2026/11/01/{n}/", page)
    return buffer.getvalue()


def _archive(pages: list[bytes], gzip: bool = True) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip, warc_version="1.1")
    for n, page in enumerate(pages[:6]):
        _record(writer, f"https://www.pravda.com.ua/news/2026/11/0{n % 3 + 1}/{n}/", page, day=n % 3 + 1)
        _record(writer, f"https://other.example/news/{n}.html", page)
    _record(writer, "https://ria.ru/20261102/story-1.html?utm_source=tg", pages[6], day=2)
    _record(writer, "https://ria.ru/20261102/story-1.html", pages[6], day=3)  # captured twice
    _record(writer, "https://ria.ru/photo.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg")
    _record(writer, "https://ria.ru/gone.html", b"<html>gone</html>", status="404 Not Found")
    _record(writer, "https://ria.ru/huge.html", b"<html>" + b"x" * 1_200_000 + b"</html>")
    writer.write_record(writer.create_revisit_record("https://ria.ru/20261102/story-1.html", "sha1:AAAA",
                                                     "https://ria.ru/20261102/story-1.html", "2026-11-02T12:00:00Z"))  # fmt: skip
    return buffer.getvalue()


def _read(data: bytes, max_size: int = 1_000_000) -> tuple[list, Counter]:
    counts: Counter = Counter()
    index = SourceIndex(SOURCES)
    found = list(read_pages(io.BytesIO(data), "test.warc.gz", Wanted(index.takes, max_size), counts))
    records = counts.pop(RECORDS, 0)
    assert records >= len(found) + sum(
        n for kind, n in counts.items() if kind not in (Skipped.TRUNCATED, Skipped.CORRUPT)
    )
    return found, counts


def test_only_the_sources_html_pages_are_kept_and_everything_else_counted(pages: list[bytes]) -> None:
    found, counts = _read(_archive(pages))
    urls = [page.url for page in found]
    assert len(urls) == 8 and all("pravda.com.ua" in url or "ria.ru/2026" in url for url in urls)
    assert counts == {Skipped.OTHER_SITE: 6, Skipped.NOT_HTML: 1, Skipped.NOT_OK: 1, Skipped.OVERSIZED: 1,
                      Skipped.NOT_RESPONSE: 1}  # fmt: skip
    assert {page.captured for page in found} == {datetime(2026, 11, d, 12, tzinfo=UTC).timestamp() for d in (1, 2, 3)}
    assert found[0].body == pages[0] and found[0].record_id.startswith("<urn:uuid:")
    # The reader says which source takes a page and the URL the crawl will know it by.
    assert {(p.source, p.cleaned) for p in found if "ria.ru" in p.url} == {
        ("ria", "https://ria.ru/20261102/story-1.html")
    }


def test_a_source_takes_its_hosts_and_follow_pattern_and_cleans_tracking() -> None:
    import re

    follow = Source(name="war", feeds=("https://war.obozrevatel.com/rss",), allowed_domains=("obozrevatel.com",),
                    follow=re.compile(r"/ukr/"))  # fmt: skip
    index = SourceIndex((*SOURCES, follow))
    assert index.source_of("https://ria.ru/20261102/a.html?utm_source=x#top") == (
        SOURCES[1],
        "https://ria.ru/20261102/a.html",
    )
    assert index.source_of("https://news.pravda.com.ua/x")[0].name == "pravda"  # type: ignore[index]
    assert index.source_of("https://notpravda.com.ua/x") is None
    assert index.source_of("https://war.obozrevatel.com/ukr/news/1.htm")[0].name == "war"  # type: ignore[index]
    assert index.source_of("https://war.obozrevatel.com/rus/news/1.htm") is None
    assert index.source_of("ftp://ria.ru/a") is None


@pytest.mark.parametrize("gzip", [True, False])
@pytest.mark.parametrize("cut", [50, 0.5])
def test_a_truncated_file_keeps_what_came_before_and_says_so(pages: list[bytes], cut: float, gzip: bool) -> None:
    data = _pages_only(pages[:6], gzip)
    whole, _ = _read(data)
    found, counts = _read(data[: -int(cut)] if cut >= 1 else data[: int(len(data) * cut)])
    assert 0 < len(found) <= len(whole) and [p.url for p in found] == [p.url for p in whole[: len(found)]]
    assert counts[Skipped.TRUNCATED] + counts[Skipped.CORRUPT] == 1


def test_a_record_not_gzip_framed_as_claimed_and_a_file_that_is_no_warc(pages: list[bytes]) -> None:
    mixed = _pages_only(pages[:3]) + _pages_only(pages[3:6], gzip=False, first=3) + _pages_only(pages[6:], first=6)
    found, counts = _read(mixed)
    assert found and counts[Skipped.CORRUPT] == 1, "read up to the break, counted once"
    found, counts = _read(b"<html>this is not an archive</html>" * 50)
    assert found == [] and counts == {Skipped.CORRUPT: 1}


def test_a_warc_file_is_read_over_http_as_a_stream(pages: list[bytes], tmp_path) -> None:
    from crawler.archives.warc_pages import open_warc
    from tests.site.server import Site

    data = _archive(pages)
    (tmp_path / "a.warc.gz").write_bytes(data)
    with Site() as site:
        url = site.add("/crawl-data/a.warc.gz", data, content_type="application/octet-stream", conditional=False)
        for location in (url, str(tmp_path / "a.warc.gz")):
            counts: Counter = Counter()
            with open_warc(location) as stream:
                found = list(read_pages(stream, location, Wanted(SourceIndex(SOURCES).takes, 1_000_000), counts))
            assert len(found) == 8 and found[0].body == pages[0], location


def test_ccnews_files_are_chosen_by_their_capture_times() -> None:
    from datetime import date

    from crawler.archives.ccnews import file_start, listing_urls, parse_listing, select_files

    assert listing_urls("https://data.example/", date(2026, 11, 1), date(2026, 11, 29)) == [
        "https://data.example/crawl-data/CC-NEWS/2026/10/warc.paths.gz",  # the day before the window
        "https://data.example/crawl-data/CC-NEWS/2026/11/warc.paths.gz",
        "https://data.example/crawl-data/CC-NEWS/2026/12/warc.paths.gz",  # captures lag publication
    ]
    paths = [f"crawl-data/CC-NEWS/2026/11/CC-NEWS-202611{d:02d}000000-{d:05d}.warc.gz" for d in range(1, 31)]
    paths.append("crawl-data/CC-NEWS/2026/11/unnamed.warc.gz")
    since = datetime(2026, 11, 10, 6, tzinfo=UTC).timestamp()
    until = datetime(2026, 11, 12, tzinfo=UTC).timestamp()
    chosen = select_files(reversed(paths), since, until)
    days = [int(path.split("-")[-1][:5]) for path in chosen[:-1]]
    assert days == [10, 11, 12, 13, 14] and chosen[-1].endswith("unnamed.warc.gz")
    assert file_start(paths[0]) == datetime(2026, 11, 1, tzinfo=UTC).timestamp() and file_start("x.warc") is None
    assert parse_listing(gzip_bytes(b"a.warc.gz\n\nb.warc.gz\n")) == ["a.warc.gz", "b.warc.gz"]
    with pytest.raises(ValueError):
        parse_listing(b"\x1f\x8bnot really gzip")


def gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def test_a_file_is_known_by_its_common_crawl_path_and_read_again_only_for_a_wider_window() -> None:
    from crawler.spiders.archive_backfill import _covers, archive_key

    path = "crawl-data/CC-NEWS/2026/11/CC-NEWS-20261102000000-00001.warc.gz"
    assert archive_key(f"https://data.commoncrawl.org/{path}") == archive_key(f"http://mirror.example:8080/{path}")
    assert archive_key(f"/srv/cc/{path}") == f"commoncrawl:{path}"
    assert archive_key("/srv/own/crawl.warc.gz") == "file:///srv/own/crawl.warc.gz"
    done = [[100.0, 200.0]]
    assert _covers(done, (120.0, 180.0)) and _covers(done, (100.0, 200.0))
    assert not _covers(done, (50.0, 180.0)) and not _covers(done, (None, 180.0)) and not _covers(done, (120.0, None))
    assert _covers([[None, None]], (None, None)) and not _covers([], (1.0, 2.0))


def test_a_backfills_shards_add_up() -> None:
    from crawler.distributed.manifest import _added

    one = {"emitted": 2, "status": "ok", "reason": None, "not_emitted": {"outside_window": 1}, "languages": {"uk": 2}}
    two = {"emitted": 3, "status": "refused", "reason": "all refused", "not_emitted": {"no_article": 2}}
    merged = _added(one, two)
    assert merged["emitted"] == 5 and merged["status"] == "refused" and merged["reason"] == "all refused"
    assert merged["not_emitted"] == {"outside_window": 1, "no_article": 2} and merged["languages"] == {"uk": 2}


def test_the_declared_canonical_is_read_from_the_bytes_by_the_extractors_rules() -> None:
    from crawler.parsing.urls import declared_canonical

    assert declared_canonical(
        b'<head><link rel="canonical" href="/n/1.html?utm_source=tg"></head>', "https://a.ua/amp/1"
    ) == ("https://a.ua/n/1.html")
    assert declared_canonical(b"<link href='https://a.ua/' rel='canonical'>", "https://a.ua/x") is None  # a front page
    assert declared_canonical(b'<link rel="canonical amphtml" href="/x">', "https://a.ua/y") is None
    assert declared_canonical(b"<LINK REL=canonical HREF=https://a.ua/z/q>", "https://a.ua/y") == "https://a.ua/z/q"
    assert (
        declared_canonical(b'<link rel="canonical" href="/a?x=1&amp;b=2">', "https://a.ua/y")
        == "https://a.ua/a?x=1&b=2"
    )
    assert declared_canonical(b"<html><head><title>t</title></head>", "https://a.ua/y") is None
