"""What translation needs from the state store: a cache of translated pieces, by key.

A narrow protocol, so that the translation stage depends on two methods rather than on
the whole store (crawler/state/store.py's StateStore implements it), and the cache key,
whose form both state backends store, has one home.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

__all__ = ["USED_RESOLUTION", "TranslationCache", "cache_key"]


# A cached piece's last use is kept to the day: enough for pruning by STATE_RETENTION_DAYS, and
# a run that meets a piece used today writes nothing for it.
USED_RESOLUTION = 86400


class TranslationCache(Protocol):
    """Translations of earlier runs by ``cache_key``; both methods raise the store's error when it fails."""

    # Whether the methods may be called from another thread (then the event loop does not wait for them).
    threadsafe: bool

    def cached_translations(self, keys: Iterable[bytes]) -> dict[bytes, str]: ...
    def cache_translations(self, entries: Iterable[tuple[bytes, str]]) -> None: ...


def cache_key(provider: str, source: str, target: str, text: str) -> bytes:
    """One piece's key: the provider, the language pair and the text."""
    return hashlib.blake2b(f"{provider}\0{source}\0{target}\0{text}".encode(), digest_size=16).digest()
