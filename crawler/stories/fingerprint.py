"""Text → a MinHash fingerprint and its LSH band keys (pure functions).

Agency copy comes back from other outlets with a new headline, a trimmed ending, a
"read also" block and the outlet's own punctuation. Word 4-shingles of the normalised
text survive all of that: on the corpus's texts (benchmarks/story_clustering.py) nearly
all such copies keep an estimated Jaccard similarity above 0.4, while different articles
on the same topic, sharing names and places, stayed at or below 0.23.
datasketch computes the MinHash; its LSH parameters for ``THRESHOLD`` (``BANDS`` of
``ROWS``, checked against it by the tests) decide how the signature is cut into bands.
Band keys are what the state store indexes, so that a story begun in an earlier run is
found again with one indexed query instead of an index rebuilt in memory at every start.

Fingerprints are computed in the extraction workers (with the rest of the page's CPU
work) and travel as bytes (datasketch's LeanMinHash serialisation, 525 bytes).

datasketch is imported on first use, by whoever computes a fingerprint (the workers): its
package imports every sketch it has, and its LSH module imports scipy.integrate. The crawl
process only compares and indexes fingerprints, which ``_values`` reads without it.
"""

from __future__ import annotations

import hashlib
import re
import struct
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

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
# datasketch's MinHashLSH bands for THRESHOLD and NUM_PERM (bands of rows; tests check that
# it still chooses these): written here so that the crawl process need not import it.
BANDS, ROWS = 32, 4
# Fewer shingles than this (a caption, a one-line brief) say too little to match on.
MIN_SHINGLES = 12
# Numbers kept per text, and the share of the smaller set the other must have too.
MAX_NUMBERS = 64
NUMBERS_SHARED = 0.8

_WORD = re.compile(r"\w+")
_HEADER = struct.Struct("<qi")  # LeanMinHash.serialize(byteorder="<"): seed, number of values
_SCHEMES_32 = (0, 1)  # legacy (no scheme byte) and affine32; see _values
# Spellings outlets differ in: the apostrophe inside Ukrainian words (м'ясо, м’ясо, мʼясо),
# and Russian ё, often written е.
# (str.replace, each a fast scan: str.translate with a mapping goes character by character
# in Python's slow path for Cyrillic text, 0.3 ms for an article.)
_FOLD = (("'", ""), ("’", ""), ("ʼ", ""), ("`", ""), ("ё", "е"))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text's MinHash (LeanMinHash bytes) and its numbers (``numbers_of``)."""

    minhash: bytes
    numbers: bytes = b""


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    for old, new in _FOLD:
        folded = folded.replace(old, new)
    return _WORD.findall(folded)


def shingles(text: str) -> set[bytes]:
    """The distinct word 4-shingles of ``text``, normalised (NFKC, case, ё, apostrophes)."""
    return _shingles(_words(text))


def _shingles(words: list[str]) -> set[bytes]:
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


@cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations


def numbers_of(text: str) -> bytes:
    """The distinct numbers of ``text`` (the first MAX_NUMBERS), as sorted 32-bit hashes.

    Copy taken from an agency keeps its figures; the reports a newsroom publishes from a
    template (exchange rates, the day's losses, an air-raid alert) differ in little else."""
    return _numbers(_words(text))


def _numbers(words: list[str]) -> bytes:
    found = list(dict.fromkeys(word for word in words if word.isdigit()))[:MAX_NUMBERS]
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
    words = _words(text)
    grams = _shingles(words)
    if len(grams) < MIN_SHINGLES:
        return None
    from datasketch import LeanMinHash, MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations(), scheme="affine32")
    minhash.update_batch(list(grams))
    lean = LeanMinHash(minhash)
    buffer = bytearray(lean.bytesize(byteorder="<"))
    lean.serialize(buffer, byteorder="<")
    return Fingerprint(bytes(buffer), _numbers(words))


def _values(minhash: bytes) -> tuple[tuple[int, int], memoryview] | None:
    """(seed, scheme) and the hash values of a fingerprint, read without datasketch.

    The crawl process compares and indexes fingerprints; only the workers make them. Reading
    datasketch's LeanMinHash layout here (seed, then the number of values, negative when a
    scheme byte follows; values "<I" for its 32-bit schemes) keeps numpy and scipy out of the
    crawl process: about 40 MiB of peak PSS in benchmarks/crawl.py, and 0.7 s of start-up."""
    if len(minhash) < _HEADER.size:
        return None
    seed, count = _HEADER.unpack_from(minhash)
    offset, scheme = _HEADER.size, 0
    if count < 0:
        count, scheme, offset = -count, minhash[offset], offset + 1
    values = memoryview(minhash)[offset:]
    if scheme not in _SCHEMES_32 or len(values) != 4 * count:
        return None  # datasketch's 64-bit scheme, or not a fingerprint: never written by this crawler
    return (seed, scheme), values.cast("I") if sys.byteorder == "little" else memoryview(values.tobytes())


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two fingerprints' texts (0 for incompatible ones)."""
    first, second = _values(a), _values(b)
    if first is None or second is None or first[0] != second[0] or len(first[1]) != len(second[1]):
        return 0.0  # another seed, scheme or size: written by a different release
    left, right = first[1], second[1]
    return sum(1 for x, y in zip(left, right, strict=True) if x == y) / max(len(left), 1)


def band_keys(minhash: bytes) -> list[int]:
    """One signed 64-bit key per LSH band: texts sharing any key are candidates."""
    return list(_band_keys(minhash))


# An article's keys are asked for twice in a row (to look its story up, then to remember it).
@lru_cache(maxsize=256)
def _band_keys(minhash: bytes) -> tuple[int, ...]:
    read = _values(minhash)
    if read is None:
        return ()
    raw = read[1].tobytes() if read[1].format == "I" else bytes(read[1])
    keys = []
    for band in range(BANDS):
        chunk = raw[4 * ROWS * band : 4 * ROWS * (band + 1)]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return tuple(keys)
