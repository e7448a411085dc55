"""A digest for people: each story as date, English title, provenance line, text, source.

Articles of one story (``story_id``: syndicated copy, language editions) are shown once:
the story's first article in full, its other-language editions as links beside its
source, then "Also reported by" with every other outlet that carried it.

Used by the feed exporters ``digest`` (plain text) and ``markdown``
(``scrapy crawl sources -o today.txt:digest``) and by ``scrapy sources digest FILE``,
which renders an existing JSON lines file the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter

from crawler import settings as defaults
from crawler.evidence.changes import change_line
from crawler.parsing.urls import url_key
from crawler.stats import PREVIOUS_RUN_STAT
from crawler.translation.base import LANGUAGE_NAMES

__all__ = [
    "DigestItemExporter",
    "MarkdownDigestItemExporter",
    "latest_records",
    "nothing_new",
    "provenance",
    "render_markdown",
    "render_text",
    "story_groups",
]

RULE = "─" * 72
# When the last run before this one finished (ISO 8601), as the run state knows it.


def _language(code: str | None) -> str:
    if not code:
        return "an unknown language"
    return LANGUAGE_NAMES.get(code, code)


def _day(record: dict[str, Any]) -> str:
    """``4.10.2023``: the publication day, else the day it was fetched."""
    for key in ("published", "fetched_at"):
        value = record.get(key)
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = datetime.combine(date.fromisoformat(str(value)[:10]), datetime.min.time())
            except ValueError:
                continue
        return f"{moment.day}.{moment.month}.{moment.year}"
    return "undated"


def provenance(record: dict[str, Any]) -> str:
    """``4.10.2023 – Translated from Ukrainian via Google`` and its variants; a revision says so
    (``Updated, revision 2 –``), an untranslated article says why in a few words."""
    translation = record.get("translation") or {}
    status = translation.get("status")
    language = _language(record.get("language"))
    if status == "translated":
        line = f"Translated from {language} via {translation.get('provider') or 'machine translation'}"
    elif status == "not_needed":
        line = f"Original in {language}"
    elif status in ("failed", "deferred"):
        # The short reason, not the provider's message (records written before it get a plain word).
        line = f"{language} original; not translated: {translation.get('reason') or 'the translation failed'}"
    else:
        line = f"{language} original, not translated"
    revision = int(record.get("revision") or 1)
    updated = f"Updated, revision {revision} – " if revision > 1 else ""
    return f"{_day(record)} – {updated}{line}"


def nothing_new(since: str | None) -> str:
    """The digest of a run with no article, so that an empty file is not mistaken for a broken one."""
    return f"Nothing new since {since}.\n" if since else "Nothing new in this run.\n"


def _english(record: dict[str, Any]) -> tuple[str, str]:
    title = record.get("title_en") or record.get("title") or "(untitled)"
    text = record.get("text_en") or record.get("text") or ""
    return title, text


def _has_original(record: dict[str, Any]) -> bool:
    return bool(record.get("text_en")) and (record.get("translation") or {}).get("status") == "translated"


def _url(record: dict[str, Any]) -> str:
    return str(record.get("canonical_url") or record.get("url") or "")


@dataclass(frozen=True)
class StoryGroup:
    """One story in a digest: the article shown in full, its editions, the other outlets' copies."""

    lead: dict[str, Any]
    editions: list[tuple[str, str]] = field(default_factory=list)  # (language, URL)
    others: list[dict[str, Any]] = field(default_factory=list)


def _is_edition(record: dict[str, Any], lead: dict[str, Any]) -> bool:
    """Whether ``record`` is another language's edition of ``lead`` (either links to the other)."""
    lead_urls = {url_key(url) for url in (lead.get("editions") or {}).values()}
    record_urls = {url_key(url) for url in (record.get("editions") or {}).values()}
    return url_key(_url(record)) in lead_urls or url_key(_url(lead)) in record_urls


def story_groups(records: Iterable[dict[str, Any]]) -> list[StoryGroup]:
    """Records grouped by story, in the order stories first appear. The story's first
    article (its id is the story id) leads, else the first record of the story."""
    stories: dict[str, list[dict[str, Any]]] = {}
    for number, record in enumerate(records):
        stories.setdefault(str(record.get("story_id") or f"\0{number}"), []).append(record)
    groups = []
    for story_id, members in stories.items():
        lead = next((r for r in members if r.get("id") == story_id), members[0])
        editions = dict((lead.get("editions") or {}).items())
        others = []
        for record in members:
            if record is lead:
                continue
            if _is_edition(record, lead):
                editions[str(record.get("language") or "")] = _url(record)
            else:
                others.append(record)
        editions.pop(str(lead.get("language") or ""), None)
        groups.append(StoryGroup(lead, sorted(editions.items()), others))
    return groups


def _edition_line(group: StoryGroup) -> str | None:
    if not group.editions:
        return None
    return "Also in " + ", ".join(f"{_language(code)}: {url}" for code, url in group.editions)


def _also_line(group: StoryGroup) -> str | None:
    if not group.others:
        return None
    return "Also reported by: " + ", ".join(f"{r.get('source') or '?'} ({_url(r)})" for r in group.others)


def render_text(entry: dict[str, Any] | StoryGroup, original: bool = False) -> str:
    """One record, or one story (``story_groups``), as the digest shows it."""
    group = entry if isinstance(entry, StoryGroup) else StoryGroup(entry)
    record = group.lead
    title, text = _english(record)
    parts = [
        title,
        provenance(record),
        *((line,) if (line := change_line(record.get("change"))) else ()),
        "",
        *_paragraphs(text),
        "",
        f"Source: {record.get('source') or '?'} – {_url(record)}",
        *(line for line in (_edition_line(group), _also_line(group)) if line),
    ]
    if original and _has_original(record):
        parts += [
            "",
            f"Original ({_language(record.get('language'))}):",
            record.get("title") or "",
            "",
            *_paragraphs(record.get("text") or ""),
        ]
    return "\n".join(parts).rstrip() + f"\n{RULE}\n"


def _md_links(group: StoryGroup) -> list[str]:
    lines = []
    if group.editions:
        links = ", ".join(f"[{_language(code)}]({_md_url(url)})" for code, url in group.editions)
        lines.append(f"Also in {links}")
    if group.others:
        links = ", ".join(
            f"[{_md(str(r.get('source') or '?'), line_start=False)}]({_md_url(_url(r))})" for r in group.others
        )
        lines.append(f"Also reported by: {links}")
    return ["", *lines] if lines else []


def _md_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def render_markdown(entry: dict[str, Any] | StoryGroup, original: bool = False) -> str:
    """One record, or one story (``story_groups``), as the digest shows it."""
    group = entry if isinstance(entry, StoryGroup) else StoryGroup(entry)
    record = group.lead
    title, text = _english(record)
    parts = [
        f"## {_md(title)}",
        "",
        f"*{_md(provenance(record), line_start=False)}*",
        *(("", f"**{_md(line, line_start=False)}**") if (line := change_line(record.get("change"))) else ()),
        "",
        *(f"{_md(p)}\n" for p in _paragraphs(text)),
        f"Source: [{_md(str(record.get('source') or '?'), line_start=False)}]({_md_url(_url(record))})",
        *_md_links(group),
    ]
    if original and _has_original(record):
        language = _language(record.get("language"))
        parts += [
            "",
            f"<details><summary>Original ({language})</summary>",
            "",
            f"**{_md(record.get('title') or '')}**",
            "",
        ]
        parts += [f"{_md(p)}\n" for p in _paragraphs(record.get("text") or "")]
        parts += ["</details>"]
    return "\n".join(parts).rstrip() + "\n\n---\n\n"


def _paragraphs(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


_LIST_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def _md(text: str, line_start: bool = True) -> str:
    """Escape what Markdown would otherwise read as markup (HTML; at a line start, block syntax)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    if line_start:
        if text and text[0] in "#>-+|=":
            text = "\\" + text
        text = _LIST_MARKER.sub(r"\1\\\2", text)
    return text


def latest_records(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Records of a JSON lines stream, the latest per ``id`` winning, in first-seen order."""
    records: dict[str, dict[str, Any]] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            key = str(record.get("id") or len(records))
            records.pop(key, None)
            records[key] = record
    return list(records.values())


def render_all(records: Iterable[dict[str, Any]], markdown: bool = False, original: bool = False) -> Iterator[str]:
    """The digest of ``records``, a story at a time."""
    render = render_markdown if markdown else render_text
    for group in story_groups(records):
        yield render(group, original)


class DigestItemExporter(BaseItemExporter):
    """``-o today.txt:digest``; ``-s DIGEST_ORIGINAL=True`` adds the original text."""

    markdown = False

    def __init__(self, file: IO[bytes], original: bool = False, **kwargs: Any):
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.original = original
        self.encoding = self.encoding or "utf-8"
        # A story's copies arrive anywhere in the run: the digest is written at the end.
        self.records: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any, file: IO[bytes], **kwargs: Any) -> DigestItemExporter:
        kwargs.setdefault("original", crawler.settings.getbool("DIGEST_ORIGINAL", defaults.DIGEST_ORIGINAL))
        exporter = cls(file, **kwargs)
        exporter.crawler = crawler
        return exporter

    crawler: Any = None

    def export_item(self, item: Any) -> None:
        self.records.append(ItemAdapter(item).asdict())

    def finish_exporting(self) -> None:
        if not self.records:
            self.file.write(nothing_new(self._previous_run()).encode(self.encoding))
        for text in render_all(self.records, self.markdown, self.original):
            self.file.write(text.encode(self.encoding))
        self.records = []

    def _previous_run(self) -> str | None:
        # Put in the stats by the run state (crawler/state/runstate.py) when the run starts.
        return self.crawler.stats.get_value(PREVIOUS_RUN_STAT) if self.crawler is not None else None


class MarkdownDigestItemExporter(DigestItemExporter):
    """``-o today.md:markdown``."""

    markdown = True
