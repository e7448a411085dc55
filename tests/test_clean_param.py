"""The sites' own URL rules: robots.txt Clean-param (crawler/parsing/urls.py, crawler/net/siterules.py).

The robots.txt texts below are real ones, copied where they were found:
  * kp.ru (Komsomolskaya Pravda): the robots.txt a public C++ project keeps as a test fixture
    (``contentv1::g_robots_test_str``), found by an exact-string search of public code;
  * ruformator.ru and kupit-galstuk.ru: stored public copies of http://ruformator.ru/robots.txt
    and http://www.kupit-galstuk.ru/robots.txt (the search tool's web-page corpus).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.parsing.urls import drop_clean_params, parse_clean_params
from tests.conftest import run_crawl
from tests.site.server import Site

# Trailing spaces as in the copy ("Clean-param: from ").
KP_RU = "\n".join(
    [
        "User-agent: *",
        "Disallow: /banners/",
        "Disallow: /link/",
        "Disallow: /scripts/",
        "Disallow: /profile/",
        "Disallow: /go/",
        "Disallow: /print/",
        "Disallow: /cgi-bin/",
        "Disallow: /frames/",
        "Disallow: /daily/article_cover/",
        "Disallow: /best/fbs/",
        "Disallow: /search/",
        "Disallow: /*/wp-admin/*",
        "Disallow: /*/wp-json/*",
        "Disallow: /*/wp-login.php",
        "Disallow: /*/wp-register.php",
        "Disallow: /*/24-hours-rss/",
        "Disallow: /comments/*",
        "Disallow: /content/api/*",
        "Disallow: /daily/26945/3996748/",
        "Disallow: *couponRedirect",
        "User-agent: Yandex",
        "Disallow: /afisha/*/amp/$",
        "Disallow: *couponRedirect",
        "Clean-param: erid",
        "Clean-param: from ",
        "Clean-param: fromrss",
        "Clean-param: utm_campaign ",
        "Clean-param: utm_medium ",
        "Clean-param: utm_term ",
        "Clean-param: utm_source",
        "Clean-param: disableGlobalInfoCollect",
        "Clean-param: clckid&__twitter_impression&__timestamp__&calltouch_tm",
        "User-agent: Googlebot",
        "Disallow: /*?",
        "Host: https://www.kp.ru",
        "Sitemap: https://www.kp.ru/sitemap.xml.gz",
        "",
    ]
)
RUFORMATOR_RU = "User-agent: *\nHost: ruformator.ru\nUser-agent: yandex\nClean-param: is_print&pub_Flag /news/article*/default.asp\n"
KUPIT_GALSTUK_RU = "User-Agent: *\nDisallow: /shop/index.php?ukey=auxpage_about*\nHost: www.kupit-galstuk.ru\nClean-param: PHPSESSID /index.php\n"


def test_real_robots_txt_clean_param_lines_are_read() -> None:
    rules = parse_clean_params(KP_RU)
    params = {param for rule in rules for param in rule.params}
    assert params == {
        "erid", "from", "fromrss", "utm_campaign", "utm_medium", "utm_term", "utm_source",
        "disableGlobalInfoCollect", "clckid", "__twitter_impression", "__timestamp__", "calltouch_tm",
    }  # fmt: skip
    assert all(rule.path == "/" for rule in rules), "no path: the whole site"
    (ruformator,) = parse_clean_params(RUFORMATOR_RU)
    assert ruformator.params == {"is_print", "pub_Flag"} and ruformator.path == "/news/article*/default.asp"
    (galstuk,) = parse_clean_params(KUPIT_GALSTUK_RU)
    assert galstuk.params == {"PHPSESSID"} and galstuk.path == "/index.php"


@pytest.mark.parametrize(
    ("robots", "url", "expected"),
    [
        (
            KP_RU,
            "https://www.kp.ru/daily/27001/5001/?erid=LjN8K&fromrss=1&page=2",
            "https://www.kp.ru/daily/27001/5001/?page=2",
        ),
        (KP_RU, "https://www.kp.ru/daily/27001/5001/", "https://www.kp.ru/daily/27001/5001/"),
        (KP_RU, "https://www.kp.ru/a/?ERID=x", "https://www.kp.ru/a/?ERID=x"),  # parameter names are case-sensitive
        (
            RUFORMATOR_RU,
            "http://ruformator.ru/news/article12/default.asp?id=5&is_print=1",
            "http://ruformator.ru/news/article12/default.asp?id=5",
        ),
        (
            RUFORMATOR_RU,
            "http://ruformator.ru/forum/default.asp?id=5&is_print=1",
            "http://ruformator.ru/forum/default.asp?id=5&is_print=1",
        ),
        (
            KUPIT_GALSTUK_RU,
            "http://www.kupit-galstuk.ru/index.php?PHPSESSID=ab12&cat=3",
            "http://www.kupit-galstuk.ru/index.php?cat=3",
        ),
        (
            KUPIT_GALSTUK_RU,
            "http://www.kupit-galstuk.ru/shop.php?PHPSESSID=ab12",
            "http://www.kupit-galstuk.ru/shop.php?PHPSESSID=ab12",
        ),
    ],
)
def test_only_the_named_parameters_under_the_named_path_are_dropped(robots: str, url: str, expected: str) -> None:
    assert drop_clean_params(url, parse_clean_params(robots)) == expected


def test_two_links_that_differ_only_in_clean_params_are_one_article(tmp_path: Path) -> None:
    with Site() as site:
        site.add("/robots.txt", KP_RU.replace("Disallow: /*?", "Disallow: /nothing"), content_type="text/plain")
        body = "".join(
            f"<p>Депутаты обсудили законопроект о бюджете на следующий год, абзац {n}.</p>" for n in range(8)
        )
        for name in ("a", "b"):
            site.add(
                f"/daily/{name}.html",
                f"<html><head><title>Новость {name}</title></head><body><article><h1>Новость про бюджет {name}</h1>{body}<p>{name}</p></article></body></html>",
            )
        links = [
            site.url("/daily/a.html?erid=2VtzqwLr&fromrss=1"),
            site.url("/daily/a.html?fromrss=2"),
            site.url("/daily/b.html?clckid=77&__twitter_impression=true"),
        ]
        items = "".join(f"<item><title>t</title><link>{link.replace('&', '&amp;')}</link></item>" for link in links)
        site.add("/rss.xml", f"<rss version='2.0'><channel>{items}</channel></rss>", content_type="application/rss+xml")
        yaml = f"sources:\n  - name: kp\n    language: ru\n    feeds: [{site.url('/rss.xml')}]\n"
        run = run_crawl(tmp_path, yaml, "-s", "TRANSLATION_PROVIDER=none")
        assert run.returncode == 0, run.stderr[-2000:]
        assert sorted(record["canonical_url"] for record in run.records) == [
            site.url("/daily/a.html"),
            site.url("/daily/b.html"),
        ]
        assert sorted(hit.path for hit in site.requests_for("/daily/")) == ["/daily/a.html", "/daily/b.html"], (
            "each fetched once, clean"
        )
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            (stored,) = db.execute("SELECT rules FROM site_rules").fetchone()
        assert "fromrss" in stored, "kept for the next run, which applies them before it reads robots.txt again"
