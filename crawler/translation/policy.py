"""Which articles the translation stage sends to the provider, and why not the others.

One home for the policy, shared by the pipeline that applies it and by ``sources check``,
which says what it would do to each article it tries."""

from __future__ import annotations

from typing import Any

from crawler import settings as defaults
from crawler.config.sources_file import Source
from crawler.items import TranslationStatus
from crawler.translation import LANGUAGE_NAMES, provider_class

__all__ = ["translation_decision", "translation_languages"]


def translation_languages(settings: Any) -> set[str]:
    """TRANSLATION_LANGUAGES as a set of lower-case codes."""
    value = settings.get("TRANSLATION_LANGUAGES", defaults.TRANSLATION_LANGUAGES)
    return {code.strip().lower() for code in value.split(",") if code.strip()}


def translation_decision(
    language: str | None, target: str, languages: set[str], provider: str, source: Source | None
) -> tuple[TranslationStatus, str]:
    """What the translation stage does with an article: a TranslationStatus
    (``translated`` meaning "sent to the provider") and why, for people.

    TRANSLATION_LANGUAGES lists the languages translated from every source; a source's
    own ``language`` is translated from that source too (a Bulgarian outlet added with
    ``language: bg`` is meant to be read in English)."""
    if language == target:
        return TranslationStatus.NOT_NEEDED, "already in the target language"
    if source is not None and not source.translate:
        return TranslationStatus.SKIPPED, "translate: false for this source"
    own = source is not None and language is not None and language == source.language
    if language not in languages and not own:
        return TranslationStatus.SKIPPED, f"not in TRANSLATION_LANGUAGES={','.join(sorted(languages))}"
    if provider == "none":
        return TranslationStatus.SKIPPED, "TRANSLATION_PROVIDER=none"
    service = provider_class(provider)
    if language is None or not service.translates_from(language):
        name = LANGUAGE_NAMES.get(language or "", language or "an unknown language")
        return TranslationStatus.SKIPPED, f"{service.label} does not translate from {name}"
    return TranslationStatus.TRANSLATED, f"via {provider}"
