"""A digest for people: each article as date, English title, provenance line, text, source.

Used by the feed exporters ``digest`` (plain text) and ``markdown``
(``scrapy crawl sources -o today.txt:digest``) and by ``scrapy sources digest FILE``,
which renders an existing JSON lines file the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter

from crawler.translation.base import LANGUAGE_NAMES

__all__ = [
    "DigestItemExporter",
    "MarkdownDigestItemExporter",
    "latest_records",
    "provenance",
    "render_markdown",
    "render_text",
]

RULE = "─" * 72


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
    """``4.10.2023 – Translated from Ukrainian via Google`` and its variants."""
    translation = record.get("translation") or {}
    status = translation.get("status")
    language = _language(record.get("language"))
    if status == "translated":
        line = f"Translated from {language} via {translation.get('provider') or 'machine translation'}"
    elif status == "not_needed":
        line = f"Original in {language}"
    elif status == "failed":
        line = f"{language} original; the translation failed ({translation.get('error') or 'unknown error'})"
    else:
        line = f"{language} original, not translated"
    return f"{_day(record)} – {line}"


def _english(record: dict[str, Any]) -> tuple[str, str]:
    title = record.get("title_en") or record.get("title") or "(untitled)"
    text = record.get("text_en") or record.get("text") or ""
    return title, text


def _has_original(record: dict[str, Any]) -> bool:
    return bool(record.get("text_en")) and (record.get("translation") or {}).get("status") == "translated"


def render_text(record: dict[str, Any], original: bool = False) -> str:
    title, text = _english(record)
    parts = [
        title,
        provenance(record),
        "",
        *_paragraphs(text),
        "",
        f"Source: {record.get('canonical_url') or record.get('url')}",
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


def render_markdown(record: dict[str, Any], original: bool = False) -> str:
    title, text = _english(record)
    url = record.get("canonical_url") or record.get("url")
    parts = [
        f"## {_md(title)}",
        "",
        f"*{_md(provenance(record), line_start=False)}*",
        "",
        *(f"{_md(p)}\n" for p in _paragraphs(text)),
        f"[Source]({url})",
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


def _renderer(markdown: bool) -> Callable[[dict[str, Any], bool], str]:
    return render_markdown if markdown else render_text


def render_all(records: Iterable[dict[str, Any]], markdown: bool = False, original: bool = False) -> Iterator[str]:
    render = _renderer(markdown)
    for record in records:
        yield render(record, original)


class DigestItemExporter(BaseItemExporter):
    """``-o today.txt:digest``; ``-s DIGEST_ORIGINAL=True`` adds the original text."""

    markdown = False

    def __init__(self, file: IO[bytes], original: bool = False, **kwargs: Any):
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.original = original
        self.encoding = self.encoding or "utf-8"

    @classmethod
    def from_crawler(cls, crawler: Any, file: IO[bytes], **kwargs: Any) -> DigestItemExporter:
        kwargs.setdefault("original", crawler.settings.getbool("DIGEST_ORIGINAL", False))
        return cls(file, **kwargs)

    def export_item(self, item: Any) -> None:
        record = ItemAdapter(item).asdict()
        self.file.write(_renderer(self.markdown)(record, self.original).encode(self.encoding))


class MarkdownDigestItemExporter(DigestItemExporter):
    """``-o today.md:markdown``."""

    markdown = True
