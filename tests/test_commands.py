"""`scrapy sources list | check | discover | digest`, and the digest feed formats, as a new user meets them."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from crawler.config.sources_file import load_sources
from crawler.output.digest import latest_records, provenance, render_markdown, render_text
from tests.conftest import FAST, ROOT, run_crawl, scrapy_command
from tests.site.corpus import NewsSite, news_sources_yaml
from tests.site.server import Site
from tests.site.translators import FakeTranslator

UK_PARAGRAPHS = [
    "Верховна Рада ухвалила закон про державний бюджет на наступний рік після тривалих дебатів у сесійній залі.",
    "Згідно з документом, видатки на оборону зростуть, а соціальні програми збережуть попереднє фінансування.",
    "Опозиція критикувала окремі положення, однак більшість депутатів підтримала законопроєкт у цілому.",
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_list_shows_every_configured_source() -> None:
    result = scrapy_command("sources", "list", "-s", "STATE_DB=/nonexistent/state.sqlite3")
    assert result.returncode == 0, result.stderr[-2000:]
    config = load_sources(ROOT / "config" / "sources.yaml")
    for source in config.sources:
        assert re.search(rf"^{re.escape(source.name)}\s", result.stdout, re.MULTILINE), source.name
        for url in source.discovery_urls:
            assert url in result.stdout
    assert "no run recorded yet" in result.stdout


def test_list_shows_last_run_figures(tmp_path: Path, news_site: NewsSite) -> None:
    run = run_crawl(tmp_path, news_sources_yaml(news_site), "-s", "TRANSLATION_PROVIDER=none")
    assert run.returncode == 0
    result = scrapy_command(
        "sources",
        "list",
        "-s",
        f"SOURCES_FILE={tmp_path / 'sources.yaml'}",
        "-s",
        f"STATE_DB={tmp_path / 'state.sqlite3'}",
    )
    assert result.returncode == 0
    assert "last run 20" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("feeds "))
    # NEW, UPDATED, UNCHANGED, EMITTED, NOT EMITTED, RETRYING, GIVEN UP, STATUS
    assert re.search(r"feeds\s+uk\s+yes\s+(\d+)\s+0\s+0\s+\1\s+\d+\s+0\s+0\s+ok", row), row


def test_check_without_names_validates_the_file() -> None:
    result = scrapy_command("sources", "check")
    assert result.returncode == 0 and "valid;" in result.stdout
    bad = scrapy_command("sources", "check", "-s", "SOURCES_FILE=/nonexistent.yaml")
    assert bad.returncode == 2 and "file not found" in bad.stderr and "Traceback" not in bad.stderr


def test_check_validates_the_watchlists_file_too(tmp_path: Path) -> None:
    example = ROOT / "config" / "watchlists.example.yaml"
    good = scrapy_command("sources", "check", "-s", f"WATCHLISTS_FILE={example}")
    assert good.returncode == 0 and f"{example}: valid; 2 watchlists, 0 with a webhook" in good.stdout
    broken = tmp_path / "watchlists.yaml"
    broken.write_text("watchlists:\n  - name: x\n    terms: [a]\n    min_matches: many\n", encoding="utf-8")
    bad = scrapy_command("sources", "check", "-s", f"WATCHLISTS_FILE={broken}")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"{broken}:4: watchlist 'x', key 'min_matches': expected a whole number" in bad.stderr
    missing = scrapy_command("sources", "check", "-s", f"WATCHLISTS_FILE={tmp_path / 'none.yaml'}")
    assert missing.returncode == 2 and "file not found (set WATCHLISTS_FILE" in missing.stderr
    sources = "sources:\n  - name: local\n    feeds: [http://127.0.0.1:9/feed.xml]\n"
    crawl = run_crawl(tmp_path, sources, "-s", f"WATCHLISTS_FILE={broken}")
    assert crawl.returncode == 2 and "the watchlists file needs fixing" in crawl.stderr
    assert f"{broken}:4:" in crawl.stderr and not (tmp_path / "out.jsonl").exists()


def test_check_reports_each_step_of_a_working_source(tmp_path: Path, news_site: NewsSite) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(news_sources_yaml(news_site), encoding="utf-8")
    state = tmp_path / "untouched.sqlite3"
    with FakeTranslator() as fake:
        google = ["-s", "TRANSLATION_PROVIDER=google", "-s", f"TRANSLATION_URL={fake.url('/m')}"]
        result = scrapy_command(
            "sources", "check", "feeds", "sitemaps", "-s", f"SOURCES_FILE={sources}", "-s", f"STATE_DB={state}", *FAST,
            *google,
        )  # fmt: skip
        fake.mode = ("status", 503)
        down = scrapy_command("sources", "check", "feeds", "-s", f"SOURCES_FILE={sources}", *FAST, *google)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    assert "== feeds (uk) ==" in out and "== sitemaps (ru) ==" in out
    assert re.search(r"ok\s+feed\s+http://127\.0\.0\.1:\d+/feeds/rss\.xml\n\s+HTTP 200, rss: \d+ links", out)
    assert re.search(r"ok\s+sitemap\s+.*/sitemap_index\.xml\n\s+HTTP 200, sitemapindex: 0 links, 3 sitemaps", out)
    assert out.count("ok  article") >= 4 and "title:" in out and "language:" in out and "| " in out
    assert re.search(r"translation: (Ukrainian|Russian): would be translated to English via google", out)
    assert out.count("result: works") == 2
    assert re.search(r"== translation ==\nok  Google answers: 'Уряд ухвалив рішення.' -> '\S.*'", out), out[-500:]
    assert not state.exists(), "check never touches the real state database"
    assert down.returncode == 1 and "result: works" in down.stdout, "the source works; the provider does not"
    assert "!!  google does not translate now: server_error" in down.stdout, down.stdout[-800:]
    assert "Traceback" not in down.stdout + down.stderr


def test_check_warns_of_a_frozen_feed_and_of_links_outside_allowed_domains(tmp_path: Path) -> None:
    """One public project found a major outlet's feed frozen since 2023; a source whose articles
    moved to another domain loses them silently. Both answer 200, so check has to say it."""
    with Site() as site:
        body = "".join(f"<p>Верховна Рада ухвалила закон про бюджет на наступний рік, абзац {n}.</p>" for n in range(8))
        site.add(
            "/news/1.html",
            f"<html><head><title>Бюджет</title></head><body><article><h1>Рада ухвалила бюджет</h1>{body}</article></body></html>",
        )
        stale = "Mon, 06 Mar 2023 09:00:00 +0200"
        items = [("Бюджет", site.url("/news/1.html"))] + [
            (f"Інше {n}", f"https://elsewhere.example/news/{n}.html") for n in range(3)
        ]
        feed = "".join(f"<item><title>{t}</title><link>{u}</link><pubDate>{stale}</pubDate></item>" for t, u in items)
        site.add("/rss.xml", f"<rss version='2.0'><channel>{feed}</channel></rss>", content_type="application/rss+xml")
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"sources:\n  - name: old\n    language: uk\n    feeds: [{site.url('/rss.xml')}]\n", encoding="utf-8"
        )
        result = scrapy_command("sources", "check", "old", "-s", f"SOURCES_FILE={sources}", *FAST, *NO_TRANSLATION)
    out = result.stdout
    assert result.returncode == 0, out[-2000:]
    assert re.search(
        r"\?\?\s+feed\s+\S+/rss\.xml\n\s+warning: its newest item is \d{3,} days old: a frozen feed", out
    ), out
    assert "?? 3 article link(s) lead outside allowed_domains, not fetched: elsewhere.example (3)" in out.replace(
        "??  ", "?? "
    )
    assert "result: works" in out


def test_check_says_clearly_when_a_source_cannot_be_reached(tmp_path: Path) -> None:
    port = closed_port()
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: gone\n    language: uk\n    feeds: [http://127.0.0.1:{port}/rss.xml]\n", encoding="utf-8"
    )
    result = scrapy_command(
        "sources", "check", "gone", "-s", f"SOURCES_FILE={sources}", *FAST, "-s", "RETRY_TIMES=0", *NO_TRANSLATION
    )
    assert result.returncode == 1
    assert re.search(
        r"!!\s+feed\s+http://127\.0\.0\.1:\d+/rss\.xml\n\s+cannot fetch: \w*ConnectionRefusedError", result.stdout
    ), result.stdout
    assert "result: NO article came out" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    unknown = scrapy_command("sources", "check", "nope", "-s", f"SOURCES_FILE={sources}")
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr


NO_TRANSLATION = ("-s", "TRANSLATION_PROVIDER=none")


def build_new_site(site: Site) -> None:
    """A small Ukrainian site as a new user would meet it: a home page announcing its feed."""
    site.add(
        "/",
        "<html><head><title>Новини</title>"
        "<link rel='alternate' type='application/rss+xml' title='Усі новини' href='/rss/all.xml'>"
        "</head><body><h1>Новини</h1><a href='/news/1.html'>Перша</a></body></html>",
    )
    items = ""
    for n in range(1, 4):
        paragraphs = "".join(f"<p>{p} ({n})</p>" for p in UK_PARAGRAPHS)
        site.add(
            f"/news/{n}.html",
            f"<html lang='uk'><head><title>Бюджет {n}</title><meta property='article:published_time' content='2023-10-0{n}T09:00:00+03:00'>"
            f"</head><body><article><h1>Рада ухвалила бюджет, новина {n}</h1>{paragraphs}</article></body></html>",
        )
        items += f"<item><title>Рада ухвалила бюджет, новина {n}</title><link>{site.url(f'/news/{n}.html')}</link><pubDate>Wed, 0{n} Oct 2023 06:00:00 GMT</pubDate></item>"
    site.add(
        "/rss/all.xml",
        f"<rss version='2.0'><channel><title>Новини</title>{items}</channel></rss>",
        content_type="application/rss+xml",
    )
    sitemap = "".join(
        f"<url><loc>{site.url(f'/news/{n}.html')}</loc><lastmod>2023-10-0{n}</lastmod></url>" for n in range(1, 4)
    )
    site.add(
        "/sitemaps/news.xml",
        f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{sitemap}</urlset>",
        content_type="application/xml",
    )
    site.add(
        "/robots.txt",
        f"User-agent: *\nAllow: /\nSitemap: {site.url('/sitemaps/news.xml')}\n",
        content_type="text/plain",
    )


def test_a_new_user_adds_checks_crawls_and_reads_a_site(tmp_path: Path, site: Site) -> None:
    build_new_site(site)
    # Typed without a scheme, as people do: https is tried first, then plain http.
    discovered = scrapy_command("sources", "discover", site.url("/").removeprefix("http://"))
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    entry = discovered.stdout[discovered.stdout.index("  - name:") :]
    assert "language: uk" in entry and site.url("/rss/all.xml") in entry and site.url("/sitemaps/news.xml") in entry
    port = site.url("/").rsplit(":", 1)[1].strip("/")
    assert f"  - name: site-127-0-0-1-{port}\n" in entry, "a name from the host, not 'site' for every site"
    assert f"then try it: scrapy sources check site-127-0-0-1-{port}\n" in discovered.stdout
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + entry, encoding="utf-8")
    name = load_sources(sources).sources[0].name

    checked = scrapy_command("sources", "check", name, "-s", f"SOURCES_FILE={sources}", *FAST, *NO_TRANSLATION)
    assert checked.returncode == 0 and "result: works" in checked.stdout, checked.stdout
    assert "--  TRANSLATION_PROVIDER=none: articles are written untranslated" in checked.stdout

    with FakeTranslator() as fake:
        digest = tmp_path / "today.txt"
        markdown = tmp_path / "today.md"
        crawl = run_crawl(
            tmp_path, sources.read_text(encoding="utf-8"), "-s", "TRANSLATION_PROVIDER=google",
            "-s", f"TRANSLATION_URL={fake.url('/m')}",
            "-O", f"{digest}:digest", "-O", f"{markdown}:markdown",
        )  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    text = digest.read_text(encoding="utf-8")
    assert text.count("Translated from Ukrainian via Google") == 3
    assert re.search(
        r"^Rada ukhvalyla byudzhet, novyna 3\n3\.10\.2023 – Translated from Ukrainian via Google\n\n", text, re.M
    ), text[:500]
    assert f"Source: {name} – {site.url('/news/1.html')}" in text
    assert "Верховна Рада" not in text, "no original text unless asked"
    md = markdown.read_text(encoding="utf-8")
    assert md.count("## ") == 3 and "*1.10.2023 – Translated from Ukrainian via Google*" in md

    rendered = scrapy_command("sources", "digest", str(crawl.output), "--original")
    assert rendered.returncode == 0
    assert rendered.stdout.count("Original (Ukrainian):") == 3 and "Верховна Рада" in rendered.stdout
    # An option written before its action still belongs to it.
    before = scrapy_command("sources", "--original", "digest", str(crawl.output))
    assert before.returncode == 0 and before.stdout == rendered.stdout
    # A digest that cannot be written says so in a line and exits 74, with no traceback.
    unwritable = scrapy_command("sources", "digest", str(crawl.output), "--output", "/proc/digest.txt")
    assert unwritable.returncode == 74, unwritable.stderr[-1000:]
    assert "cannot write /proc/digest.txt" in unwritable.stderr and "Traceback" not in unwritable.stderr


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        (["list", "--burst"], "scrapy sources list: unrecognized arguments: --burst"),
        (["digest"], "scrapy sources digest: the following arguments are required: FILE"),
        (["health", "--shards", "2"], "scrapy sources health: unrecognized arguments: --shards 2"),
        (["enqueue", "--shards", "two"], "scrapy sources enqueue: argument --shards: invalid int value"),
        (["frob"], "unknown action 'frob'"),
    ],
)
def test_each_action_takes_only_its_own_options(line: list[str], refused: str) -> None:
    result = scrapy_command("sources", *line)
    assert result.returncode == 2 and refused in result.stderr, result.stderr[-1000:]


def test_help_is_plain_text() -> None:
    result = scrapy_command("sources", "--help")
    assert result.returncode == 0 and "discover URL" in result.stdout
    assert "``" not in result.stdout and "\n  check NAME [NAME ...]" in result.stdout, result.stdout


def test_discover_explains_a_site_without_feeds(site: Site) -> None:
    site.add("/", "<html><head><title>Home</title></head><body><p>Nothing to see.</p></body></html>")
    result = scrapy_command("sources", "discover", site.url("/"))
    assert result.returncode == 1
    assert "listings:" in result.stdout and "follow:" in result.stdout
    unreachable = scrapy_command("sources", "discover", f"http://127.0.0.1:{closed_port()}/")
    assert (
        unreachable.returncode == 1 and "cannot fetch" in unreachable.stderr and "Traceback" not in unreachable.stderr
    )


def test_discover_looks_past_a_home_page_behind_a_bot_wall(site: Site) -> None:
    """Russian outlets answer a crawler's home page with 403 while their feed and robots.txt
    answer: discovery goes on to the usual places."""
    build_new_site(site)
    site.add("/", "<html><body>Access denied</body></html>", status=403)
    result = scrapy_command("sources", "discover", site.url("/"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.url("/sitemaps/news.xml") in result.stdout and "language: uk" in result.stdout
    site.add("/robots.txt", "", status=404)
    site.add("/sitemaps/news.xml", "", status=404)
    nothing = scrapy_command("sources", "discover", site.url("/"))
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr
    assert "answered HTTP 403, and no feed or sitemap was found" in nothing.stderr, nothing.stderr


def record(**overrides: object) -> dict:
    base = {
        "id": "a" * 20, "url": "https://news.example.org/1", "canonical_url": "https://news.example.org/1",
        "source": "pravda", "title": "Заголовок", "text": "Перший абзац.\nДругий абзац.", "language": "uk", "published": "2023-10-04T09:00:00+03:00",
        "fetched_at": "2023-10-05T00:00:00Z", "title_en": "Headline", "text_en": "First paragraph.\nSecond paragraph.",
        "translation": {"status": "translated", "provider": "Google", "from": "uk", "to": "en", "chars": 30, "error": None},
    }  # fmt: skip
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({}, "4.10.2023 – Translated from Ukrainian via Google"),
        ({"language": "en", "translation": {"status": "not_needed"}}, "4.10.2023 – Original in English"),
        (
            {
                "title_en": None,
                "text_en": None,
                "translation": {
                    "status": "failed",
                    "error": "connection: HTTPSConnectionPool(host='translate.google.com') NameResolutionError",
                    "reason": "translation service unreachable",
                },
            },
            "4.10.2023 – Ukrainian original; not translated: translation service unreachable",
        ),
        (
            {"title_en": None, "text_en": None, "translation": {"status": "failed", "error": "timeout: no answer"}},
            "4.10.2023 – Ukrainian original; not translated: the translation failed",
        ),
        ({"revision": 3}, "4.10.2023 – Updated, revision 3 – Translated from Ukrainian via Google"),
        (
            {"language": "de", "translation": {"status": "skipped"}, "published": None},
            "5.10.2023 – German original, not translated",
        ),
    ],
)
def test_provenance_lines(overrides: dict, line: str) -> None:
    assert provenance(record(**overrides)) == line


def test_text_and_markdown_rendering() -> None:
    text = render_text(record(), original=True)
    assert text.startswith(
        "Headline\n4.10.2023 – Translated from Ukrainian via Google\n\nFirst paragraph.\nSecond paragraph.\n"
    )
    assert "Source: pravda – https://news.example.org/1" in text
    assert "Original (Ukrainian):\nЗаголовок\n\nПерший абзац." in text
    failed = render_text(
        record(title_en=None, text_en=None, translation={"status": "failed", "error": "x"}), original=True
    )
    assert "Заголовок" in failed and "Original (" not in failed, "an untranslated article shows its text once"
    md = render_markdown(record(title_en="# not a heading", text_en="1. not a list\n<b>not bold</b> *nor this*"))
    assert md.startswith("## \\# not a heading\n\n*4.10.2023 – Translated from Ukrainian via Google*\n")
    assert "1\\. not a list\n\n&lt;b>not bold&lt;/b> \\*nor this\\*\n" in md
    assert "Source: [pravda](https://news.example.org/1)" in md


def test_latest_record_per_id_wins() -> None:
    lines = [
        json.dumps(record(revision=1, title_en="Old")),
        json.dumps(record(id="b" * 20)),
        json.dumps(record(revision=1, title_en="New")),
        "not json",
    ]
    records = latest_records(lines)
    assert [r["title_en"] for r in records] == ["Headline", "New"]


def test_records_without_translation_object_render() -> None:
    text = render_text(record(translation=None), original=True)
    assert "4.10.2023 – Ukrainian original, not translated" in text and "Original (" not in text
