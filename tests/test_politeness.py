"""A source's politeness covers every host of its site (crawler/net/politeness.py): section subdomains,
a feed host of its own, and the other editions of the same outlet."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from crawler.config.sources_file import Source
from crawler.net.politeness import download_slots, site_slots
from tests.conftest import run_crawl
from tests.site.server import Site

DELAY = 0.6


def source(name: str, domains: tuple[str, ...], feeds: tuple[str, ...] = (), **kwargs: object) -> Source:
    return Source(name=name, allowed_domains=domains, feeds=feeds or (f"https://www.{domains[0]}/rss.xml",), **kwargs)


def test_sources_of_one_site_share_a_slot_and_its_strictest_settings() -> None:
    sources = [
        source("pravda", ("pravda.com.ua",), download_delay=1.0),
        source("pravda-ru", ("pravda.com.ua",), download_delay=2.0, concurrency=2),
        source("epravda", ("epravda.com.ua",)),
        source("unian", ("unian.ua", "unian.net"), feeds=("https://rss.unian.net/site/news_ukr.rss",), concurrency=3),
        source("unian-ru", ("unian.net",), concurrency=1),
    ]
    slots = site_slots(sources)
    assert slots["pravda"] == slots["pravda-ru"] != slots["epravda"], "epravda.com.ua is another site"
    assert slots["unian"] == slots["unian-ru"]
    settings = download_slots(sources)
    assert settings[slots["pravda"]] == {"delay": 2.0, "jitter": 0, "randomize_delay": False, "concurrency": 2}
    assert settings[slots["unian"]] == {"concurrency": 1}
    assert slots["epravda"] not in settings, "no source setting: Scrapy's defaults apply"


def test_the_delay_holds_across_subdomains_and_the_feed_host(tmp_path: Path) -> None:
    """Articles on war. and news., the feed on rss.: one site, one pace. The loopback server
    serves these hosts as an HTTP proxy, since no DNS knows them."""
    with Site() as site:
        hosts = ["war.outlet.test", "news.outlet.test"]
        items = []
        for n in range(6):
            host = hosts[n % 2]
            body = "<p>" + "Новина про важливі події в країні та світі. " * 12 + f"({n})</p>"
            site.add(
                f"/{n}.htm",
                f"<html><head><title>Стаття {n}</title></head><body><article><h1>Стаття номер {n}</h1>{body}</article></body></html>",
                host=host,
            )
            items.append(f"<item><title>Стаття {n}</title><link>http://{host}/{n}.htm</link></item>")
        site.add(
            "/feed.xml",
            f"<rss version='2.0'><channel>{''.join(items)}</channel></rss>",
            content_type="application/rss+xml",
            host="rss.outlet.test",
        )
        yaml = (
            "sources:\n  - name: outlet\n    language: uk\n    feeds: [http://rss.outlet.test/feed.xml]\n"
            f"    allowed_domains: [outlet.test]\n    download_delay: {DELAY}\n"
        )
        run = run_crawl(
            tmp_path,
            yaml,
            "-s", "TRANSLATION_PROVIDER=none",
            "-s", "NETWORK_ALLOW_HOSTS=war.outlet.test,news.outlet.test",
            env={"http_proxy": site.proxy, "no_proxy": ""},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert len(run.records) == 6
        pages = [hit for hit in site.hits if hit.host.endswith("outlet.test") and not hit.path.endswith("robots.txt")]
        assert {hit.host for hit in pages} == {"rss.outlet.test", *hosts}
        gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(pages)]
        # Times are taken on arrival at the server: under a loaded machine one request can arrive
        # late, and the next one (sent on time) then looks early. A gap short of the delay is
        # that only when the gap before it was long by as much; two hosts paced apart would
        # give gaps near zero.
        shown = [round(gap, 2) for gap in gaps]
        assert all(gap >= DELAY * 0.5 for gap in gaps), shown
        for before, gap in itertools.pairwise([DELAY, *gaps]):
            assert gap >= DELAY * 0.9 or before + gap >= 2 * DELAY * 0.9, shown
        assert re.search(r"'downloader/request_count': \d+", run.stderr)
