"""One short sentence sent to the translation provider, as a crawl would send it: does the
provider answer now, and with what? ``sources check`` asks before an operator trusts a run
to it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crawler.translation import TranslationError, provider_from_settings
from crawler.translation.base import ErrorKind
from crawler.translation.service import check_translation

__all__ = ["PROBE_TIMEOUT", "ProbeResult", "probe_translation"]

# One short sentence per language the probe may send (the sources' own languages first).
_PROBES = {"uk": "Уряд ухвалив рішення.", "ru": "Правительство приняло решение.", "be": "Урад прыняў рашэнне."}
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class ProbeResult:
    sent: str
    label: str = ""  # the provider as it names itself
    answer: str | None = None  # None: it did not translate, and ``problem`` says why
    problem: str | None = None


def probe_translation(settings: Any, provider: str, target: str, languages: Iterable[str | None]) -> ProbeResult:
    """Translate one sentence in the first of ``languages`` the probe knows (else Ukrainian)."""
    language = next((code for code in languages if code in _PROBES), "uk")
    text = _PROBES[language]  # type: ignore[index]
    try:
        service = provider_from_settings(settings, provider)
        problem = service.check()
        if problem:
            raise TranslationError(ErrorKind.UNAVAILABLE, problem)
        [answer] = service.translate([text], language, target, time.monotonic() + PROBE_TIMEOUT)
        return ProbeResult(text, service.label, check_translation(text, answer, target))
    except TranslationError as exc:
        return ProbeResult(text, problem=str(exc))
    except Exception as exc:  # a provider library's own error: reported in one line, not a traceback
        return ProbeResult(text, problem=f"{type(exc).__name__}: {str(exc)[:200]}")
