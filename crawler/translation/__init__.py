"""Translation of Ukrainian and Russian articles into English (or TRANSLATION_TARGET).

Adding a provider: subclass ``Provider`` in a module of its own and register it
in ``PROVIDERS`` below.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from crawler import settings as defaults
from crawler.translation.base import LANGUAGE_NAMES, Provider, ProviderOptions, TranslationError

__all__ = [
    "LANGUAGE_NAMES",
    "PROVIDERS",
    "Provider",
    "ProviderOptions",
    "TranslationError",
    "provider_class",
    "provider_from_settings",
    "provider_name",
]

# name -> "module:class", imported on use so unused clients cost nothing.
PROVIDERS = {
    "google": "crawler.translation.google:GoogleProvider",
    "deepl": "crawler.translation.deepl:DeeplProvider",
    "libre": "crawler.translation.libre:LibreProvider",
    "ctranslate2": "crawler.translation.ct2:CTranslate2Provider",
}


def provider_name(settings: Any) -> str:
    """TRANSLATION_PROVIDER as the registry knows it: "google", "deepl", …, or "none"."""
    return str(settings.get("TRANSLATION_PROVIDER", defaults.TRANSLATION_PROVIDER)).strip().lower()


def provider_from_settings(settings: Any, name: str | None = None) -> Provider:
    """The TRANSLATION_PROVIDER (or ``name``) as the settings configure it (not "none")."""
    return provider_class(name or provider_name(settings))(
        ProviderOptions(
            url=settings.get("TRANSLATION_URL") or None,
            api_key=settings.get("TRANSLATION_API_KEY") or None,
            model=settings.get("TRANSLATION_MODEL") or None,
            timeout=settings.getfloat("TRANSLATION_TIMEOUT", defaults.TRANSLATION_TIMEOUT),
            user_agent=settings.get("USER_AGENT"),
            threads=settings.getint("TRANSLATION_THREADS", defaults.TRANSLATION_THREADS),
        )
    )


def provider_class(name: str) -> type[Provider]:
    try:
        module, _, attribute = PROVIDERS[name].partition(":")
    except KeyError:
        known = ", ".join([*PROVIDERS, "none"])
        raise ValueError(f"unknown TRANSLATION_PROVIDER {name!r}; use one of {known}") from None
    return getattr(import_module(module), attribute)
