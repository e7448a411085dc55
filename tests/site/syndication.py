"""Outlets that republish each other's copy, and a site with Ukrainian and Russian editions.

Agency copy reaches other outlets changed the way newsrooms change it: each outlet has
its own page template (navigation, sidebars of other headlines, footers), writes its own
headline, trims the last paragraph and adds a "read also" block with a link to another
of its stories. The texts are real news texts from the shared corpus (lang-uk/ner-uk,
«Наші гроші», and factRuEval-2016), read in place.

Used by the story clustering tests (a crawl over two runs) and by
``benchmarks/story_clustering.py`` (the labelled evaluation set).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any
from urllib.parse import urlsplit

from tests.site.corpus import corpus_dir

__all__ = [
    "OUTLETS",
    "Outlet",
    "Story",
    "SyndicationSites",
    "corpus_stories",
    "edition_page",
    "outlet_page",
    "short_items",
]


@dataclass(frozen=True)
class Story:
    """One text as its first publisher wrote it."""

    key: str
    language: str
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Outlet:
    name: str
    host: str
    # How this outlet rewrites copy it takes from another: trim the last paragraph, and
    # where its "read also" block goes (None: nowhere).
    trims: bool
    read_also_at: int | None
    headline: str  # "as is", "lead" (the lead's first words), "prefix"
    credit: str | None


OUTLETS = (
    Outlet("agency", "agency.test", trims=False, read_also_at=None, headline="as is", credit=None),
    Outlet("portal", "portal.test", trims=True, read_also_at=2, headline="lead", credit="За матеріалами агентства."),
    Outlet("daily", "daily.test", trims=True, read_also_at=-1, headline="prefix", credit=None),
)

_READ_ALSO = {"uk": "Читайте також", "ru": "Читайте также"}
_PREFIX = {"uk": "Офіційно", "ru": "Официально"}
_NAV = {
    "uk": ("Головна", "Новини", "Політика", "Економіка", "Світ", "Спорт", "Контакти"),
    "ru": ("Главная", "Новости", "Политика", "Экономика", "Мир", "Спорт", "Контакты"),
}
_FOOTER = {
    "uk": "Усі права захищено. Використання матеріалів дозволяється за умови посилання на видання.",
    "ru": "Все права защищены. Использование материалов разрешается при условии ссылки на издание.",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _title_of(paragraphs: list[str]) -> str:
    words = _SENTENCE.split(paragraphs[0])[0].split()
    return " ".join(words[:12]).rstrip(".,:;")


@cache
def corpus_stories(language: str) -> tuple[Story, ...]:
    """The corpus's real texts in ``language`` (uk or ru) with at least three paragraphs."""
    name = {"uk": "ner-uk-ng-texts.uk.jsonl", "ru": "factRuEval-2016-texts.ru.jsonl"}[language]
    stories = []
    with (corpus_dir() / "langid" / name).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            paragraphs = [" ".join(p.split()) for p in record["text"].split("\n") if len(p.split()) >= 4]
            if len(paragraphs) < 3 or len(" ".join(paragraphs)) > 6000:
                continue
            stories.append(Story(record["id"], language, _title_of(paragraphs), tuple(paragraphs)))
    return tuple(stories)


def short_items(language: str, count: int) -> list[Story]:
    """Briefs of 200-300 characters: the lead sentences of texts not used as stories."""
    items = []
    for story in reversed(corpus_stories(language)):
        text = ""
        for sentence in _SENTENCE.split(" ".join(story.paragraphs)):
            if len(text) + len(sentence) + 1 > 300:
                break
            text = f"{text} {sentence}".strip()
        if 200 <= len(text) <= 300:
            items.append(Story(f"short-{story.key}", language, _title_of([text]), (text,)))
        if len(items) == count:
            break
    return items


def rewrite(story: Story, outlet: Outlet, other_title: str, other_url: str) -> tuple[str, list[str]]:
    """(headline, paragraphs) of ``story`` as ``outlet`` republishes it."""
    paragraphs = list(story.paragraphs)
    if outlet.trims and len(paragraphs) > 3:
        paragraphs = paragraphs[:-1]
    if outlet.credit:
        paragraphs.append(outlet.credit)
    if outlet.read_also_at is not None:
        block = f'{_READ_ALSO[story.language]}: <a href="{escape(other_url)}">{escape(other_title)}</a>'
        at = outlet.read_also_at if outlet.read_also_at >= 0 else len(paragraphs)
        paragraphs.insert(min(at, len(paragraphs)), block)
    title = story.title
    if outlet.headline == "lead":
        title = " ".join(paragraphs[0].split()[:9]).rstrip(".,:;") + "…"
    elif outlet.headline == "prefix":
        title = f"{_PREFIX[story.language]}: {title[:1].lower()}{title[1:]}"
    return title, paragraphs


def _markup(paragraph: str) -> str:
    return paragraph if paragraph.startswith(tuple(_READ_ALSO.values())) else escape(paragraph)


def outlet_page(
    outlet: Outlet, story: Story, url: str, *, other: tuple[str, str], sidebar: list[tuple[str, str]],
    editions: dict[str, str] | None = None, published: str = "2026-11-30T09:00:00+02:00",
) -> str:  # fmt: skip
    """``story`` as ``outlet`` publishes it at ``url``, in the outlet's own template.
    ``other``: (title, url) for its "read also" block; ``sidebar``: its other headlines."""
    language = story.language
    title, paragraphs = (
        (story.title, list(story.paragraphs)) if outlet.name == "agency" else rewrite(story, outlet, *other)
    )
    body = "".join(f"<p>{_markup(p)}</p>" for p in paragraphs)
    links = "".join(
        f'<link rel="alternate" hreflang="{lang}" href="{escape(href)}">' for lang, href in (editions or {}).items()
    )
    nav = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(_NAV[language]))
    aside = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for text, href in sidebar)
    head = (
        f'<head><meta charset="utf-8"><title>{escape(title)} | {outlet.name}</title>'
        f'<link rel="canonical" href="{escape(url)}">{links}'
        f'<meta property="article:published_time" content="{published}"></head>'
    )
    if outlet.name == "agency":
        main = f"<article><h1>{escape(title)}</h1><time datetime='{published}'></time>{body}</article>"
    elif outlet.name == "portal":
        main = (
            f"<div class='post'><div class='post-head'><h1 class='post-title'>{escape(title)}</h1></div>"
            f"<div class='post-body'>{body}</div><div class='tags'><a href='/tag/1'>Новини</a></div></div>"
        )
    else:
        main = f"<main><h1>{escape(title)}</h1><section class='text'>{body}</section></main>"
    return (
        f"<!doctype html><html lang='{language}'>{head}<body><header><nav><ul>{nav}</ul></nav></header>"
        f"{main}<aside><h3>{_READ_ALSO[language]}</h3><ul>{aside}</ul></aside>"
        f"<footer><p>{_FOOTER[language]}</p></footer></body></html>"
    )


def edition_page(story: Story, url: str, editions: dict[str, str]) -> str:
    """A page of a site with language editions: hreflang links to each edition (itself included)."""
    agency = OUTLETS[0]
    return outlet_page(agency, story, url, other=("", ""), sidebar=[], editions=editions)


class SyndicationSites:
    """Outlets on one loopback site (``/agency/``, ``/portal/``, ``/daily/``), each with a feed,
    and ``/pravda/`` with a Ukrainian and a Russian edition (two sources, hreflang between them).

    ``publish`` puts a story on an outlet (rewritten as that outlet does) and into its feed;
    ``publish_editions`` puts one article on both editions of pravda, or on one of them."""

    def __init__(self, site: Any):
        self.site = site
        # Per feed: (URL, title, minute of the day it was last put there: an edit moves it on).
        self.feeds: dict[str, list[tuple[str, str, int]]] = {}
        self.clock = 0

    def sources_yaml(self) -> str:
        lines = ["sources:"]
        for name, language, feed in (
            ("agency", "uk", "/agency/rss.xml"), ("portal", "uk", "/portal/rss.xml"), ("daily", "uk", "/daily/rss.xml"),
            ("pravda", "uk", "/pravda/rss.xml"), ("pravda-ru", "ru", "/pravda/rus/rss.xml"),
        ):  # fmt: skip
            lines += [f"  - name: {name}", f"    language: {language}", f"    feeds: [{self.site.url(feed)}]"]
        return "\n".join(lines) + "\n"

    def url(self, outlet: str, story: Story) -> str:
        return self.site.url(f"/{outlet}/news/{story.key.replace('/', '-')}.html")

    def publish(self, outlet_name: str, story: Story, other: Story) -> str:
        outlet = next(o for o in OUTLETS if o.name == outlet_name)
        url = self.url(outlet_name, story)
        page = outlet_page(outlet, story, url, other=(other.title, self.url(outlet_name, other)), sidebar=[])
        self._put(f"/{outlet_name}/rss.xml", url, page, story.title)
        return url

    def edition_urls(self, key: str) -> dict[str, str]:
        return {"uk": self.site.url(f"/pravda/news/{key}.html"), "ru": self.site.url(f"/pravda/rus/news/{key}.html")}

    def publish_editions(self, key: str, uk: Story, ru: Story, feeds: tuple[str, ...] = ("uk", "ru")) -> dict[str, str]:
        """One article in both editions (pages always; listed in the given editions' feeds)."""
        urls = self.edition_urls(key)
        links = {**urls, "x-default": urls["uk"]}
        for language, story in (("uk", uk), ("ru", ru)):
            page = edition_page(story, urls[language], links)
            feed = "/pravda/rss.xml" if language == "uk" else "/pravda/rus/rss.xml"
            path = urlsplit(urls[language]).path
            if language in feeds:
                self._put(feed, urls[language], page, story.title)
            else:
                self.site.add(path, page)
        return urls

    def _put(self, feed: str, url: str, page: str, title: str) -> None:
        self.site.add(urlsplit(url).path, page)
        self.clock += 1
        entries = self.feeds.setdefault(feed, [])
        entries[:] = [entry for entry in entries if entry[0] != url] + [(url, title, self.clock)]
        items = "".join(
            f"<item><title>{escape(t)}</title><link>{escape(u)}</link>"
            f"<pubDate>Mon, 30 Nov 2026 {9 + n // 60:02d}:{n % 60:02d}:00 +0200</pubDate></item>"
            for u, t, n in entries
        )
        rss = f"<rss version='2.0'><channel><title>{feed}</title>{items}</channel></rss>"
        self.site.add(feed, rss, content_type="application/rss+xml")
