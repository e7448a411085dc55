"""Text → a MinHash fingerprint and its LSH band keys (pure functions).

Agency copy comes back from other outlets with a new headline, a trimmed ending, a
"read also" block and the outlet's own punctuation. Word 4-shingles of the normalised
text survive all of that: on the corpus's texts (benchmarks/story_clustering.py) nearly
all such copies keep an estimated Jaccard similarity above 0.4, while different articles
on the same topic, sharing names and places, stayed at or below 0.23.
datasketch computes the MinHash; its LSH parameters for ``THRESHOLD`` decide how the
signature is cut into bands. Band keys are what the state store indexes, so that a
story begun in an earlier run is found again with one indexed query instead of an index
rebuilt in memory at every start.

Fingerprints are computed in the extraction workers (with the rest of the page's CPU
work) and travel as bytes (datasketch's LeanMinHash serialisation, 528 bytes).

datasketch is imported on first use: its package imports every sketch it has, and its LSH
module imports scipy.integrate, 0.7 s of CPU that commands and crawls without stories
should not pay.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHashLSH

__all__ = [
    "MIN_SHINGLES",
    "THRESHOLD",
    "Fingerprint",
    "band_keys",
    "fingerprint",
    "numbers_agree",
    "numbers_of",
    "shingles",
    "similarity",
]

NUM_PERM = 128
SEED = 20261201
SHINGLE_WORDS = 4
# Estimated Jaccard similarity at and above which two texts carry the same story.
THRESHOLD = 0.4
# Fewer shingles than this (a caption, a one-line brief) say too little to match on.
MIN_SHINGLES = 12
# Numbers kept per text, and the share of the smaller set the other must have too.
MAX_NUMBERS = 64
NUMBERS_SHARED = 0.8

_WORD = re.compile(r"\w+")
# Spellings outlets differ in: the apostrophe inside Ukrainian words (м'ясо, м’ясо, мʼясо),
# and Russian ё, often written е.
_FOLD = str.maketrans({"'": "", "’": "", "ʼ": "", "`": "", "ё": "е"})


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text's MinHash (LeanMinHash bytes) and its numbers (``numbers_of``)."""

    minhash: bytes
    numbers: bytes = b""


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold().translate(_FOLD))


def shingles(text: str) -> set[bytes]:
    """The distinct word 4-shingles of ``text``, normalised (NFKC, case, ё, apostrophes)."""
    words = _words(text)
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


@cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations


@cache
def _lsh() -> MinHashLSH:
    """datasketch's choice of bands and rows for THRESHOLD (an empty index: only its parameters are used)."""
    from datasketch import MinHashLSH

    return MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)


def numbers_of(text: str) -> bytes:
    """The distinct numbers of ``text`` (the first MAX_NUMBERS), as sorted 32-bit hashes.

    Copy taken from an agency keeps its figures; the reports a newsroom publishes from a
    template (exchange rates, the day's losses, an air-raid alert) differ in little else."""
    found = list(dict.fromkeys(word for word in _words(text) if word.isdigit()))[:MAX_NUMBERS]
    hashes = sorted({int.from_bytes(hashlib.blake2b(n.encode(), digest_size=4).digest(), "little") for n in found})
    return struct.pack(f"<{len(hashes)}I", *hashes)


def numbers_agree(a: bytes, b: bytes) -> bool:
    """Whether two texts' numbers allow them to be one story: the smaller set (a trimmed copy's)
    is mostly within the larger. Texts without numbers say nothing either way."""
    first, second = (set(struct.unpack(f"<{len(x) // 4}I", x)) for x in (a, b))
    if not first or not second:
        return True
    return len(first & second) >= NUMBERS_SHARED * min(len(first), len(second))


def fingerprint(text: str) -> Fingerprint | None:
    """The text's fingerprint, or None when it is too short to match on."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    from datasketch import LeanMinHash, MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations(), scheme="affine32")
    minhash.update_batch(list(grams))
    lean = LeanMinHash(minhash)
    buffer = bytearray(lean.bytesize(byteorder="<"))
    lean.serialize(buffer, byteorder="<")
    return Fingerprint(bytes(buffer), numbers_of(text))


def _lean(minhash: bytes) -> LeanMinHash:
    from datasketch import LeanMinHash

    return LeanMinHash.deserialize(minhash, byteorder="<")


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two fingerprints' texts (0 for incompatible ones)."""
    try:
        return float(_lean(a).jaccard(_lean(b)))
    except (ValueError, TypeError):  # another seed or size: written by a different release
        return 0.0


def band_keys(minhash: bytes) -> list[int]:
    """One signed 64-bit key per LSH band: texts sharing any key are candidates."""
    return list(_band_keys(minhash))


# An article's keys are asked for twice in a row (to look its story up, then to remember it).
@lru_cache(maxsize=256)
def _band_keys(minhash: bytes) -> tuple[int, ...]:
    values = _lean(minhash).hashvalues
    keys = []
    for band, (start, end) in enumerate(_lsh().hashranges):
        digest = hashlib.blake2b(bytes([band]) + values[start:end].astype("<u4").tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return tuple(keys)
