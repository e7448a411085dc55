"""Character classes the crawler relies on, each defined once."""

from __future__ import annotations

import re

__all__ = ["CONTROL_CHARS", "CYRILLIC", "is_cyrillic"]

# Characters no text field may carry: C0 controls other than tab, newline and carriage
# return, DEL, lone surrogates (they cannot be encoded as UTF-8) and the noncharacters
# U+FFFE/U+FFFF. lxml refuses the C0 ones in HTML; JSON readers choke on surrogates.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

# Cyrillic, Cyrillic Supplement, Extended-A/B/C: every Cyrillic-script language's letters.
_CYRILLIC_RANGES = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
CYRILLIC = re.compile(f"[{_CYRILLIC_RANGES}]")


def is_cyrillic(ch: str) -> bool:
    return CYRILLIC.match(ch) is not None
