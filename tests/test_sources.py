"""Sources file loading and validation: every mistake names file, line, source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.sources_file import SourcesError, load_sources, select_sources
from crawler.config.yaml_lines import MAX_FILE_BYTES
from tests.conftest import scrapy_command
from tests.site.server import Site

GOOD = """\
defaults:
  download_delay: 2.5
  max_articles: 50
sources:
  - name: obozrevatel
    language: uk
    feeds: [https://www.obozrevatel.com/ukr/rss.xml]
    sitemaps:
      - https://www.obozrevatel.com/sitemap.xml
  - name: meduza
    language: ru
    enabled: false
    max_articles: 5
    feeds: https://meduza.io/rss/all
    listings:
      - url: https://meduza.io/news
        follow: '/news/\\d{4}/.+'
    extract:
      title: '//h1'
      body: '//div[@class="body"]'
    translate: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SourcesError) as caught:
        load_sources(write(tmp_path, text))
    return str(caught.value).splitlines()


def test_good_file_and_defaults(tmp_path: Path) -> None:
    config = load_sources(write(tmp_path, GOOD))
    oboz, meduza = config.sources
    assert oboz.name == "obozrevatel" and oboz.language == "uk" and oboz.enabled
    assert oboz.download_delay == 2.5 and oboz.max_articles == 50, "defaults are merged in"
    assert oboz.allowed_domains == ("obozrevatel.com",), "default: the domains of the discovery URLs"
    assert oboz.allows("https://news.obozrevatel.com/a.html") and not oboz.allows("https://evil.com/obozrevatel.com")
    assert meduza.max_articles == 5, "a source's own value beats the default"
    assert meduza.feeds == ("https://meduza.io/rss/all",), "a single URL is accepted for a list"
    assert meduza.listings[0].follow.search("https://meduza.io/news/2025/01/01/x")
    assert meduza.extract.as_dict() == {"title": "//h1", "body": '//div[@class="body"]'}
    assert meduza.translate is False and meduza.enabled is False
    assert config.enabled == (oboz,)
    assert oboz.line == 5


def test_select_sources(tmp_path: Path) -> None:
    config = load_sources(write(tmp_path, GOOD))
    assert [s.name for s in select_sources(config, None)] == ["obozrevatel"]
    assert [s.name for s in select_sources(config, "meduza,obozrevatel")] == ["meduza", "obozrevatel"]
    with pytest.raises(SourcesError, match=r"unknown source 'nope'.*configured: obozrevatel, meduza"):
        select_sources(config, "obozrevatel,nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    feed: [https://a.org/x]\n",
            ":4: source 'a', key 'feed': unknown key (did you mean 'feeds'?)",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    max_articles: many\n",
            ":4: source 'a', key 'max_articles': expected a whole number of at least 1, got the string 'many'",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    enabled: 'no'\n",
            ":4: source 'a', key 'enabled': expected true or false, got the string 'no'",
        ),
        ("sources:\n  - language: uk\n    feeds: [https://a.org/rss]\n", ":2: key 'name': every source needs a name"),
        (
            "sources:\n  - name: a\n    language: uk\n",
            ":2: source 'a': needs at least one discovery URL under feeds, sitemaps or listings",
        ),
        (
            "sources:\n  - name: a\n    feeds: [ftp://a.org/rss]\n",
            ":3: source 'a', key 'feeds[0]': 'ftp://a.org/rss' is not a valid URL: only http:// and https:// URLs can be crawled",
        ),
        (
            "sources:\n  - name: a\n    feeds:\n      - https://\n",
            ":4: source 'a', key 'feeds[0]': 'https://' is not a valid URL: no host name",
        ),
        (
            "sources:\n  - name: a\n    listings:\n      - url: https://a.org/\n        follow: '/news/(['\n",
            ":5: source 'a', key 'listings[0].follow': '/news/([': not a valid regular expression",
        ),
        (
            "sources:\n  - name: a\n    listings:\n      - url: https://a.org/\n        follow: '^(\\w+\\s?)*$'\n",
            "key 'listings[0].follow': '^(\\\\w+\\\\s?)*$': nested unbounded repeats",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n  - name: a\n    feeds: [https://b.org/rss]\n",
            ":4: source 'a', key 'name': duplicate name; the first source with it is on line 2",
        ),
        (
            "sources:\n  - name: a b\n    feeds: [https://a.org/rss]\n",
            ":2: key 'name': 'a b': use only letters, digits",
        ),
        (
            "sources:\n  - name: a\n    language: ukrainian\n    feeds: [https://a.org/rss]\n",
            ":3: source 'a', key 'language': 'ukrainian' is not a two-letter ISO 639-1 code",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    extract:\n      body: '//div['\n",
            ":5: source 'a', key 'extract.body': '//div[' is not a valid XPath expression",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    allowed_domains: [https://a.org/]\n",
            ":4: source 'a', key 'allowed_domains[0]': 'https://a.org/' is not a domain name",
        ),
        (
            "defaults:\n  name: x\nsources:\n  - name: a\n    feeds: [https://a.org/rss]\n",
            ":2: key 'defaults.name': a name cannot be a default",
        ),
        ("source:\n  - name: a\n", ":1: key 'source': unknown top-level key (did you mean 'sources'?)"),
        ("sources: []\n", ":1: key 'sources': expected a non-empty list of sources"),
        ("", ": the file is empty; it needs a 'sources:' list"),
        ("# only a comment\n", ": the file is empty"),
        (
            "sources:\n  - name: a\n\tfeeds: [https://a.org/rss]\n",
            ":3: a tab character is not allowed in YAML indentation; indent with spaces",
        ),
        ("sources:\n  - name: a\n    feeds: [https://a.org/rss\n", "YAML syntax error"),
        (
            "sources:\n  - name: a\n    download_delay: -1\n    feeds: [https://a.org/rss]\n",
            ":3: source 'a', key 'download_delay': expected seconds between 0 and 3600",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    since: 30 days\n",
            ":4: source 'a', key 'since': '30 days' is neither a date (2026-11-01) nor a duration (30d, 12h)",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    revisit: [1h, soon]\n",
            ":4: source 'a', key 'revisit': 'soon' is not a duration such as 30d, 12h, 90min or 2w",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    revisit: 6\n",
            ":4: source 'a', key 'revisit': expected a list of durations such as [1h, 6h, 24h, 72h], or false",
        ),
        (
            "sources:\n  - name: a\n    feeds: [https://a.org/rss]\n    since: 2999-01-01\n",
            ":4: source 'a', key 'since': 2999-01-01 is in the future",
        ),
        (
            "sources:\n  - name: a\n    sitemaps:\n      - https://a.org/s.xml?day={date:%Q}\n",
            ":4: source 'a', key 'sitemaps[0]': 'https://a.org/s.xml?day={date:%Q}': {date:%Q} names no day, month or year",
        ),
        (
            "sources:\n  - name: a\n    sitemaps: ['https://a.org/{day}.xml']\n",
            ":3: source 'a', key 'sitemaps[0]': 'https://a.org/{day}.xml': braces in a URL must be a {date:FORMAT} field",
        ),
        (
            "sources:\n  - name: a\n    sitemaps: ['https://{date:%Y}.a.org/s.xml']\n",
            "key 'sitemaps[0]': 'https://{date:%Y}.a.org/s.xml': a {date:…} field cannot be part of the host name",
        ),
        (
            "sources:\n  - name: a\n    feeds: ['https://a.org/rss?d={date:%Y%m%d}']\n",
            ":3: source 'a', key 'feeds[0]': 'https://a.org/rss?d={date:%Y%m%d}': a {date:…} template works in sitemaps and listings only",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in line for line in found), found
    assert all(line.startswith(str(tmp_path / "sources.yaml")) for line in found)


def test_since_and_date_templates(tmp_path: Path) -> None:
    config = load_sources(
        write(
            tmp_path,
            "defaults:\n  since: 30d\nsources:\n"
            "  - name: ria\n    since: 2026-11-01\n"
            "    sitemaps: ['https://ria.ru/sitemap_article.xml?date_start={date:%Y%m%d}&date_end={date:%Y%m%d}']\n"
            "  - name: arch\n    listings:\n      - url: https://a.org/archive/{date:%Y/%m/%d}/\n"
            "        follow: '/news/'\n",
        )
    )
    ria, arch = config.sources
    assert str(ria.since) == "2026-11-01" and ria.allowed_domains == ("ria.ru",)
    assert arch.since is not None and arch.since.ago is not None and arch.since.ago.days == 30
    assert arch.listings[0].url == "https://a.org/archive/{date:%Y/%m/%d}/" and arch.allowed_domains == ("a.org",)


def test_revisit_schedules(tmp_path: Path) -> None:
    config = load_sources(
        write(
            tmp_path,
            "defaults:\n  revisit: [6h, 1h]\nsources:\n"
            "  - name: a\n    feeds: [https://a.org/rss]\n"
            "  - name: b\n    feeds: [https://b.org/rss]\n    revisit: false\n"
            "  - name: c\n    feeds: [https://c.org/rss]\n    revisit: [30min, 3d]\n",
        )
    )
    a, b, c = config.sources
    assert (a.revisit, b.revisit, c.revisit) == ((3600.0, 21600.0), (), (1800.0, 259200.0))


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "sources:\n  - name: a\n    feeds: [htp://x]\n  - name: b\n    feeds: [https://b.org]\n    colour: red\n",
    )
    assert len(found) == 2
    assert ":3: source 'a'" in found[0] and ":6: source 'b', key 'colour'" in found[1]


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sources:\n  - name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourcesError, match="not UTF-8"):
        load_sources(path)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    lines.append("sources: *a9")
    found = problems(tmp_path, "\n".join(lines) + "\n")
    assert any("alias/anchor bomb" in line for line in found)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    text = "# " + "x" * (MAX_FILE_BYTES + 10) + "\nsources: []\n"
    found = problems(tmp_path, text)
    assert any("the limit is" in line for line in found)


def test_merge_keys_and_anchors_still_work(tmp_path: Path) -> None:
    config = load_sources(
        write(
            tmp_path,
            "x-common: &common\n  language: uk\n  feeds: [https://a.org/rss]\nsources:\n  - <<: *common\n    name: a\n",
        )
    )
    assert config.sources[0].language == "uk"


# --- through the command line: nothing is crawled, no traceback, status 2 ------


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (
            "sources:\n  - name: a\n    feeds: [{url}/rss]\n    colour: red\n",
            [],
            ":4: source 'a', key 'colour': unknown key",
        ),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-a", "sources=a,zz"], "unknown source 'zz'"),
        (
            "sources:\n  - name: ua-test\n    feeds: [{url}/rss]\n",
            ["-a", "sources=ua-tset"],
            "-a sources=ua-tset: unknown source 'ua-tset' (did you mean 'ua-test'?)",
        ),
        (
            "sources:\n  - name: a\n    feeds: [{url}/rss]\n",
            ["-a", "source=a"],
            "-a source=…: no such argument (did you mean -a sources=…?)",
        ),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-a", "limit=abc"], "-a limit=abc: give a whole number"),
        ("sources:\n\t- name: a\n", [], "tab character"),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-a", "since=last week"], "-a since=last week: "),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-a", "until=tomorrow"], "is not a date such as"),
        (
            "sources:\n  - name: a\n    feeds: [{url}/rss]\n",
            ["-a", "since=2026-11-10", "-a", "until=2026-11-01"],
            "-a until=2026-11-01 is before -a since=2026-11-10",
        ),
        (
            "sources:\n  - name: a\n    feeds: [{url}/rss]\n",
            ["-s", "RETRY_GIVE_UP_AFTER=forever"],
            "RETRY_GIVE_UP_AFTER='forever': say it in runs and hours",
        ),
        (
            "sources:\n  - name: a\n    feeds: [{url}/rss]\n",
            ["-s", "SOURCES_MAX_ARTICLES=abc", "-s", "DOWNLOAD_DELAY=2s"],
            "-s DOWNLOAD_DELAY=2s: give a number; -s SOURCES_MAX_ARTICLES=abc: give a whole number",
        ),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-s", "HEALTH_MIN_GAPS=x"], "give a whole number"),
        ("sources:\n  - name: a\n    feeds: [{url}/rss]\n", ["-s", "ROBOTSTXT_OBEY=maybe"], "give True or False"),
    ],
)
def test_crawl_refuses_bad_config(tmp_path: Path, site: Site, text: str, args: list[str], expected: str) -> None:
    site.add("/rss", "<rss><channel></channel></rss>", content_type="application/rss+xml")
    path = write(tmp_path, text.format(url=site.base))
    result = scrapy_command("crawl", "sources", "-s", f"SOURCES_FILE={path}", "-O", str(tmp_path / "o.jsonl"), *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert site.hits == [], "no request before the sources file is valid"
    assert not (tmp_path / "o.jsonl").exists()


def test_numbers_on_the_command_line_are_read_as_their_readers_read_them() -> None:
    """A fraction where a setting is read as a float is fine, as are Scrapy's own timeouts."""
    from scrapy.settings import Settings

    from crawler.commands.crawl import project_defaults
    from crawler.config.setting_types import setting_problems

    settings = Settings()
    for name, value in {
        "OUTPUT_RETENTION_DAYS": "0.5",
        "STATE_RETENTION_DAYS": "1.5",
        "DOWNLOAD_TIMEOUT": "2.5",
        "HEALTH_SILENT_FACTOR": "2.5",
        "STORIES_ENABLED": "false",
        "EXTRACTION_WORKERS": "-1",
    }.items():
        settings.set(name, value, priority="cmdline")
    assert setting_problems(settings, project_defaults()) == []
    settings.set("EXTRACTION_WORKERS", "2.5", priority="cmdline")
    assert setting_problems(settings, project_defaults()) == ["-s EXTRACTION_WORKERS=2.5: give a whole number"]
