"""Watchlists, alerts, feeds and search in real crawls over loopback: a webhook receiver that
fails and then recovers, the feeds read back by feedparser, and searches after three runs (the
later ones hours on, under libfaketime) that bring an unannounced edit and a removal."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import feedparser
import pytest

from tests.conftest import run_crawl, scrapy_command
from tests.site.clock import fixed_clock_env, require_libfaketime
from tests.site.server import Site

FILLER = (
    "Представники місцевої влади повідомили про наслідки події та закликали мешканців зберігати спокій. "
    "Рятувальники працювали на місці кілька годин, інформацію про постраждалих уточнюють. "
    "Експерти наголошують, що ситуація залишається складною, а наступні дні покажуть, як вона розвиватиметься."
)
OTHER = (
    "Енергетики попереджають, що роботи з відновлення можуть тривати до вечора, а графіки оновлюватимуть щогодини. "
    "Мешканців просять заздалегідь заряджати телефони та павербанки і стежити за офіційними повідомленнями. "
    "У пунктах незламності можна зігрітися, випити чаю та підзарядити техніку."
)
TRAINING = (
    "До навчань залучили понад сто фахівців, зокрема пожежників, медиків і працівників станції. "
    "Учасники відпрацювали евакуацію персоналу, надання першої допомоги та гасіння умовної пожежі. "
    "Організатори оцінили злагодженість дій як високу і планують наступні навчання навесні."
)
ARTICLES = {
    # name: (source, language, title, paragraphs)
    "a": ("uk-news", "uk", "Обстріл поблизу Запорізької АЕС",
          ["Вночі окупанти знову обстріляли територію поблизу Запорізької АЕС, повідомляє МАГАТЕ. "
           "Це вже третій обстріл за тиждень.", FILLER]),
    "b": ("copies", "uk", "Обстріл поблизу Запорізької АЕС",
          ["Вночі окупанти знову обстріляли територію поблизу Запорізької АЕС, повідомляє МАГАТЕ. "
           "Це вже третій обстріл за тиждень.", FILLER]),
    "c": ("en-news", "en", "Shelling near Europe's largest nuclear plant",
          ["Drones struck a training centre near the Zaporizhzhia nuclear plant overnight, the IAEA said.",
           "Inspectors at the site reported damage to an administrative building and to the plant's perimeter. "
           "The agency's director called for restraint from both sides and for an end to military activity."]),
    "d": ("uk-news", "uk", "Херсонщина: відключення світла",
          ["У Херсоні та області через пошкодження мереж тимчасово відключили світло.", OTHER]),
    "e": ("uk-news", "uk", "Навчання рятувальників",
          ["Біля Запорізької АЕС пройшли планові навчання рятувальників і медиків.", TRAINING]),
    "f": ("ru-news", "ru", "Ситуация в Энергодаре",
          ["В Энергодаре снова пропал свет после обстрела, сообщили местные власти.",
           "Жители города рассказали, что ночью слышали несколько взрывов. Коммунальные службы работают на месте, "
           "сроки восстановления электроснабжения пока не называются."]),
}  # fmt: skip
EDIT = "Пізніше стало відомо, що через обстріл знеструмлено й Енергодар."

WATCHLISTS = """\
watchlists:
  - name: zaes
    terms: ["Запорізька АЕС", Энергодар, Енергодар, "Zaporizhzhia nuclear plant"]
    not: [навчання]
    webhook: {{url: "{hook}", secret_env: HOOK_SECRET}}
  - name: kherson
    terms: [Херсон]
    languages: [uk]
  - name: twice
    terms: [обстріл]
    min_matches: 2
"""


class Receiver:
    """A webhook receiver: answers 503 while ``down``, records every POST."""

    def __init__(self, site: Site):
        self.down = True
        self.posts: list[tuple[int, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self.url = site.handle("/hook", self._handle)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        status = 503 if self.down else 204
        with self._lock:
            self.posts.append((status, dict(request.headers.items()), body))
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def delivered(self) -> list[tuple[dict[str, str], dict]]:
        with self._lock:
            return [(headers, json.loads(body)) for status, headers, body in self.posts if status == 204]


def _page(title: str, language: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='{language}'><head><title>{title}</title>"
            "<meta property='article:published_time' content='2026-11-30T08:00:00+00:00'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")  # fmt: skip


def _serve(site: Site) -> str:
    feeds: dict[str, list[str]] = {}
    for name, (source, language, title, paragraphs) in ARTICLES.items():
        site.add(f"/{source}/{name}.html", _page(title, language, paragraphs))
        feeds.setdefault(source, []).append(name)
    when = format_datetime(datetime(2026, 11, 30, 8, tzinfo=UTC))
    lines = ["sources:"]
    for source, names in feeds.items():
        items = "".join(f"<item><title>{n}</title><link>{site.url(f'/{source}/{n}.html')}</link>"
                        f"<pubDate>{when}</pubDate></item>" for n in names)  # fmt: skip
        site.add(f"/{source}/rss.xml", f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                 content_type="application/rss+xml")  # fmt: skip
        language = ARTICLES[names[0]][1]
        lines.append(f"  - name: {source}\n    language: {language}\n    feeds: [{site.url(f'/{source}/rss.xml')}]")
    site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    return "\n".join(lines) + "\n"


def _by_name(records: list[dict]) -> dict[str, dict]:
    return {r["url"].rsplit("/", 1)[1].removesuffix(".html"): r for r in records}


def _command(tmp_path: Path, *args: str) -> str:
    run = scrapy_command("sources", *args, "-s", f"STATE_DB={tmp_path / 'state.sqlite3'}",
                         "-s", f"SOURCES_FILE={tmp_path / 'sources.yaml'}")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run 1 with the receiver down; run 2 two hours on, receiver up, article d edited without
    a word in its feed and c gone (404); run 3 four hours on, c's removal confirmed."""
    library = require_libfaketime()
    tmp_path = tmp_path_factory.mktemp("watch")
    with Site() as site:
        receiver = Receiver(site)
        sources = _serve(site)
        watchlists = tmp_path / "watchlists.yaml"
        watchlists.write_text(WATCHLISTS.format(hook=receiver.url), encoding="utf-8")
        extra = ("-s", f"WATCHLISTS_FILE={watchlists}", "-s", "TRANSLATION_PROVIDER=none",
                 "-s", "ALERT_SEND_SECONDS=20", "-s", "STORIES_ENABLED=True")  # fmt: skip
        env = {"HOOK_SECRET": "s3cret"}
        first = run_crawl(tmp_path, sources, *extra, output="first.jsonl", env=env)
        matched_after_first = _command(tmp_path, "alerts", "--since", "2d")
        posts_in_first = list(receiver.posts)
        receiver.down = False
        _source, language, title, paragraphs = ARTICLES["d"]
        site.add("/uk-news/d.html", _page(title, language, [*paragraphs, EDIT]))
        site.routes.pop("/en-news/c.html")
        start = datetime.now(UTC)
        later = {**env, **fixed_clock_env(start + timedelta(hours=2), library)}
        second = run_crawl(tmp_path, sources, *extra, output="second.jsonl", env=later)
        posts_after_second = len(receiver.posts)
        latest = {**env, **fixed_clock_env(start + timedelta(hours=4), library)}
        third = run_crawl(tmp_path, sources, *extra, output="third.jsonl", env=latest)
        return {"tmp": tmp_path, "runs": (first, second, third), "receiver": receiver,
                "first_posts": posts_in_first, "posts_after_second": posts_after_second,
                "matched_after_first": matched_after_first}  # fmt: skip


def test_records_carry_the_watchlists_they_match_in_any_form(three_runs: dict) -> None:
    first = three_runs["runs"][0]
    assert first.returncode == 0, first.stderr[-3000:]
    records = _by_name(first.records)
    assert set(records) == set(ARTICLES)
    watch = {name: {m["name"]: m for m in r["watchlists"]} for name, r in records.items()}
    assert watch["a"]["zaes"]["terms"] == ["Запорізька АЕС"] and watch["a"]["zaes"]["in"] == ["current"]
    assert watch["a"]["twice"]["mentions"] == 2, "the title and the text each say обстріл (обстріляли is a verb)"
    assert watch["f"]["zaes"]["terms"] == ["Энергодар"], "Энергодаре is a form of Энергодар"
    assert watch["c"]["zaes"]["terms"] == ["Zaporizhzhia nuclear plant"], "English, in the English text"
    assert "zaes" not in watch["e"], "навчання is excluded"
    assert set(watch["d"]) == {"kherson"}, "Херсоні is Херсон; Херсонщина is not"
    assert "twice" not in watch["f"], "one mention is not two; and the Russian text says обстрела, not обстріл"
    assert records["a"]["story_id"] == records["b"]["story_id"], "b is a copy of a"


def test_a_receiver_that_is_down_never_fails_the_run_and_is_sent_to_once_it_recovers(three_runs: dict) -> None:
    first, second, third = three_runs["runs"]
    assert first.returncode == 0 and second.returncode == 0 and third.returncode == 0, second.stderr[-3000:]
    assert all(status == 503 for status, _, _ in three_runs["first_posts"])
    # One alert tried three times, then the receiver left alone for the rest of the run.
    assert len(three_runs["first_posts"]) == 3
    assert "waiting: 1 attempts failed, last HTTP 503" in three_runs["matched_after_first"]
    delivered = three_runs["receiver"].delivered()
    ids = [payload["id"] for _, payload in delivered]
    assert len(ids) == len(set(ids)) == 4, "one alert per story: a's copy b adds none, c's removal adds none"
    records = _by_name(first.records)
    stories = {payload["story_id"] for _, payload in delivered}
    assert stories == {records[name]["story_id"] for name in "acdf"}
    assert len(three_runs["receiver"].posts) == three_runs["posts_after_second"], "the third run sent nothing"
    for headers, payload in delivered:
        assert headers["Idempotency-Key"] == payload["id"]
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["X-Signature-256"] == expected
    summaries = [json.loads(Path(f"{run.output}.summary.json").read_text(encoding="utf-8")) for run in (first, second)]
    assert summaries[0]["watchlists"]["alerts"] == {"sent": 0, "failed": 1, "given_up": 0, "waiting": 3}
    assert summaries[0]["watchlists"]["matches"] == {"kherson": 1, "twice": 2, "zaes": 4}
    assert summaries[1]["watchlists"]["alerts"] == {"sent": 4, "failed": 0, "given_up": 0, "waiting": 0}
    assert "Watchlists: kherson 1, twice 2, zaes 4; alerts 1 failed, 3 waiting" in first.stderr
    c_alert = next(p for _, p in delivered if p["story_id"] == records["c"]["story_id"])
    assert c_alert["title_en"] == ARTICLES["c"][2] and c_alert["summary_en"] and c_alert["source"] == "en-news"
    assert c_alert["url"].endswith("/en-news/c.html") and c_alert["watchlist"] == "zaes"


def test_an_edit_and_a_removal_match_by_their_new_or_old_text(three_runs: dict) -> None:
    _first, second, third = three_runs["runs"]
    edited = _by_name(second.records)["d"]
    assert edited["change"]["kind"] == "edited" and edited["revision"] == 2
    assert {m["name"]: m["in"] for m in edited["watchlists"]} == {
        "zaes": ["current"],
        "kherson": ["current", "previous"],
    }
    removed = _by_name(third.records)["c"]
    assert removed["change"]["kind"] == "removed"
    assert [m["name"] for m in removed["watchlists"]] == ["zaes"]


def test_search_finds_inflected_forms_newest_first_with_edits_and_removals(three_runs: dict) -> None:
    tmp = three_runs["tmp"]
    found = [json.loads(line) for line in _command(tmp, "search", "Енергодар", "--json").splitlines()]
    assert [hit["url"].rsplit("/", 1)[1] for hit in found] == ["d.html"]
    assert found[0]["change"] == "edited" and "[Енергодар]" in found[0]["snippet"]
    phrase = [json.loads(line) for line in _command(tmp, "search", '"запорізька аес"', "--json").splitlines()]
    assert sorted(hit["url"].rsplit("/", 1)[1] for hit in phrase) == ["a.html", "b.html", "e.html"]
    assert "[Запорізької АЕС]" in phrase[0]["snippet"]
    only = _command(tmp, "search", '"запорізька аес" -навчання', "--source", "uk-news")
    assert only.startswith("1 article for") and "/uk-news/a.html" in only
    english = [json.loads(line) for line in _command(tmp, "search", "nuclear plants", "--json").splitlines()]
    assert [(h["url"].rsplit("/", 1)[1], h["change"]) for h in english] == [("c.html", "removed")]
    assert _command(tmp, "search", "Энергодар", "--lang", "uk").startswith("0 articles")


def test_feeds_are_valid_atom_read_by_a_feed_parser(three_runs: dict) -> None:
    feeds = three_runs["tmp"] / "feeds"
    zaes = feedparser.parse((feeds / "watchlists" / "zaes.atom").read_bytes())
    assert not zaes.bozo, zaes.get("bozo_exception")
    assert zaes.version == "atom10"
    links = {entry.link.rsplit("/", 1)[1]: entry for entry in zaes.entries}
    assert set(links) == {"a.html", "b.html", "c.html", "d.html", "f.html"}
    assert links["c.html"].title.startswith("[removed] ") and ARTICLES["c"][2] in links["c.html"].title
    terms = {tag.scheme.rsplit(":", 1)[1]: tag.term for tag in links["c.html"].tags}
    assert terms["language"] == "en" and terms["story"] and terms["change"] == "removed"
    assert links["a.html"].tags and {t.term for t in links["a.html"].tags} >= {"uk", "uk-news", "untranslated"}
    english = feedparser.parse((feeds / "sources" / "en-news.atom").read_bytes())
    assert not english.bozo and [e.title for e in english.entries] == [f"[removed] {ARTICLES['c'][2]}"]
    assert "Drones struck" in english.entries[0].content[0].value
    assert not list(feeds.rglob("*.tmp")), "written atomically: no temporary file left"
