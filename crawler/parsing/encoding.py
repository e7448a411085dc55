"""Decode HTML bytes to text, trusting declarations only when the result is plausible.

Ukrainian and Russian sites still serve windows-1251 and KOI8-R, sometimes
declared only in a ``<meta>`` tag, sometimes declared wrongly, sometimes not
at all. Both code pages decode any byte sequence without error, so a wrong
guess shows up only as implausible text: Cyrillic that is mostly capitals
(KOI8-R read as windows-1251 and vice versa) or Latin-1 accents where
Cyrillic was meant.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

from crawler.parsing.chars import is_cyrillic

__all__ = ["decode_html"]

# koi8_u before koi8_r: identical for Russian, and only koi8_u has і ї є ґ.
_CYRILLIC_CODECS = ("cp1251", "koi8_u", "koi8_r")
_LATIN_CODECS = {"cp1252", "latin_1", "iso8859_15", "iso8859_1"}
_SAMPLE = 20_000


def _canonical(encoding: str | None) -> str | None:
    if not encoding:
        return None
    resolved = resolve_encoding(encoding)
    if not resolved:
        return None
    try:
        return codecs.lookup(resolved).name.replace("-", "_")
    except LookupError:
        return None


def _plausibility(text: str) -> float:
    """Higher is more like real prose; penalises capitals-only Cyrillic and mojibake."""
    sample = text[:_SAMPLE]
    cyrillic = upper = accented = letters = 0
    for ch in sample:
        if not ch.isalpha():
            continue
        letters += 1
        if is_cyrillic(ch):
            cyrillic += 1
            if ch.isupper():
                upper += 1
        elif "\u00c0" <= ch <= "\u00ff":
            accented += 1
    if not letters:
        return 1.0
    # Replacement characters and box-drawing symbols (KOI8 read with the wrong table).
    odd = sum(1 for ch in sample if ch == "\ufffd" or "\u2500" <= ch <= "\u25ff")
    score = 1.0 - 5 * odd / max(len(sample), 1)
    if cyrillic >= 20:
        score -= max(0.0, upper / cyrillic - 0.35)
    score -= max(0.0, accented / letters - 0.3)
    return score


def _decode(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _alternatives(body: bytes) -> list[tuple[str, str]]:
    found = []
    for encoding in ("utf_8", *_CYRILLIC_CODECS, "cp1252"):
        text = _decode(body, encoding)
        if text is not None:
            found.append((encoding, text))
    return found


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding) for an HTML body and its Content-Type header."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        encoding = _canonical(bom_encoding) or "utf_8"
        return body[len(bom) :].decode(encoding, errors="replace"), encoding
    declared = [
        _canonical(http_content_type_encoding(content_type) if content_type else None),
        _canonical(html_body_declared_encoding(body[:4096])),
    ]
    utf8 = _decode(body, "utf_8")
    # Bytes that decode as UTF-8 and are not plain ASCII are UTF-8 whatever the page
    # claims: text in a legacy code page almost never forms valid UTF-8 sequences.
    if utf8 is not None and not body.isascii():
        return utf8, "utf_8"
    for encoding in dict.fromkeys(e for e in declared if e):
        text = _decode(body, encoding)
        if text is None:
            continue
        # A declared single-byte code page decodes anything; check the text reads as text.
        if (encoding in _CYRILLIC_CODECS or encoding in _LATIN_CODECS) and _plausibility(text) < 0.9:
            best = max(_alternatives(body), key=lambda pair: _plausibility(pair[1]), default=None)
            if best is not None and _plausibility(best[1]) > _plausibility(text):
                return best[1], best[0]
        return text, encoding
    if utf8 is not None:
        return utf8, "utf_8"
    candidates = _alternatives(body)
    if candidates:
        encoding, text = max(candidates, key=lambda pair: _plausibility(pair[1]))
        return text, encoding
    return body.decode("utf_8", errors="replace"), "utf_8"
