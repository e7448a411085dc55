"""What changed between two revisions of an article, as the record's ``change`` field says it.

Paragraphs are lined up with difflib's SequenceMatcher on whole paragraphs (normalised for
spaces), so a paragraph inserted at the top does not make every later one "changed": an
``equal`` run is unchanged, a ``replace`` pairs paragraphs one to one as changed (before →
after) and leaves the surplus as added or removed, ``insert`` and ``delete`` are added and
removed. Positions are 1-based, as a reader counts them: a removed paragraph's is its place in
the previous text, any other's its place in the new one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ChangeKind", "FoundBy", "change_line", "edit_change", "paragraph_changes", "paragraphs"]


class ChangeKind(StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    # A page confirmed removed that answers with its article again.
    RESTORED = "restored"


class FoundBy(StrEnum):
    # A feed's or sitemap's date moved (or the page was listed again): the site said so.
    ANNOUNCED = "announced"
    # A scheduled revisit found it (crawler/evidence/schedule.py); the site said nothing.
    REVISIT = "revisit"
    # A backfill read another text of it in a web archive (crawler/spiders/archive_backfill.py).
    ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class ParagraphChanges:
    added: tuple[tuple[int, str], ...] = ()
    removed: tuple[tuple[int, str], ...] = ()
    changed: tuple[tuple[int, str, str], ...] = ()

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "added": [{"index": i, "text": text} for i, text in self.added],
            "removed": [{"index": i, "text": text} for i, text in self.removed],
            "changed": [{"index": i, "before": before, "after": after} for i, before, after in self.changed],
        }


def paragraphs(text: str | None) -> list[str]:
    return [" ".join(p.split()) for p in (text or "").split("\n") if p.strip()]


def paragraph_changes(before: str | None, after: str | None) -> ParagraphChanges:
    old, new = paragraphs(before), paragraphs(after)
    added: list[tuple[int, str]] = []
    removed: list[tuple[int, str]] = []
    changed: list[tuple[int, str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        changed += [(j1 + k + 1, old[i1 + k], new[j1 + k]) for k in range(pairs)]
        removed += [(i + 1, old[i]) for i in range(i1 + pairs, i2)]
        added += [(j + 1, new[j]) for j in range(j1 + pairs, j2)]
    return ParagraphChanges(tuple(added), tuple(removed), tuple(changed))


def edit_change(previous: dict[str, Any] | None, current: dict[str, Any], found_by: FoundBy, at: str) -> dict[str, Any]:
    """The ``change`` of an edited revision; ``previous`` is the record delivered before (None
    when the state no longer keeps it: then only its hash and revision are known)."""
    change: dict[str, Any] = {
        "kind": str(ChangeKind.EDITED),
        "found_by": str(found_by),
        "at": at,
        "previous_revision": current.get("revision", 1) - 1,
        "previous_content_hash": previous.get("content_hash") if previous else None,
        "title": None,
        "paragraphs": None,
    }
    if previous is None:
        return change
    if " ".join((previous.get("title") or "").split()) != " ".join((current.get("title") or "").split()):
        change["title"] = {"before": previous.get("title"), "after": current.get("title")}
    change["paragraphs"] = paragraph_changes(previous.get("text"), current.get("text")).as_dict()
    return change


def _clip(text: str | None, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def change_line(change: dict[str, Any] | None) -> str | None:
    """One line for people (the digest): what happened, when, and what changed."""
    if not change:
        return None
    at = _hour(change.get("at"))
    kind = change.get("kind")
    if kind == ChangeKind.REMOVED:
        evidence = change.get("evidence") or {}
        return f"Removed at {at}: {evidence.get('description') or evidence.get('reason', 'gone')}"
    if kind == ChangeKind.RESTORED:
        return f"Back at {at} after it was removed"
    how = {
        FoundBy.REVISIT: "Edited without notice",
        FoundBy.ARCHIVE: "Another text in a web archive, captured",
    }.get(change.get("found_by"), "Edited (announced by the site)")  # type: ignore[call-overload]
    parts = []
    if change.get("title"):
        parts.append(f"headline changed from “{_clip(change['title']['before'])}”")
    found = change.get("paragraphs") or {}
    parts += [f"paragraph {entry['index']} changed" for entry in found.get("changed", [])[:5]]
    if found.get("added"):
        parts.append(f"{len(found['added'])} paragraph(s) added")
    if found.get("removed"):
        parts.append(f"{len(found['removed'])} paragraph(s) removed")
    return f"{how} at {at}: {'; '.join(parts) or 'text changed'}"


def _hour(iso: str | None) -> str:
    """``2026-12-03T14:20:05+00:00`` → ``2026-12-03 14:20 UTC``."""
    if not iso:
        return "?"
    return f"{iso[:10]} {iso[11:16]} UTC"
