"""Text → a MinHash fingerprint and its LSH band keys (pure functions).

It lives with parsing because the extraction workers compute it beside the text;
crawler/stories/ only compares fingerprints, so stories depend on parsing, never back.

Agency copy comes back from other outlets with a new headline, a trimmed ending, a
"read also" block and the outlet's own punctuation. Word 4-shingles of the normalised
text survive all of that: on the corpus's texts (benchmarks/story_clustering.py) nearly
all such copies keep an estimated Jaccard similarity above 0.4, while different articles
on the same topic, sharing names and places, stayed at or below 0.23.
LSH bands (``BANDS`` of ``ROWS``, the split that minimises false positives and negatives
around ``THRESHOLD``, checked by the tests) cut the signature; band keys are what the state
store indexes, so that a story begun in an earlier run is found again with one indexed
query instead of an index rebuilt in memory at every start.

The signature is one-permutation MinHash with optimal densification (Li, Owen and Zhang
2012; Shrivastava 2017): each shingle is hashed once (xxHash's XXH3, 64 bits), its top bits
choose one of ``NUM_PERM`` bins and its low 32 bits compete for the bin's minimum; an empty
bin (a short text) copies the value of a donor bin drawn from a fixed sequence of its own,
so two texts' bins agree with probability equal to their Jaccard similarity, as with
``NUM_PERM`` independent permutations. That is one hash per shingle instead of 128 affine
permutations: 0.1 ms for an article in pure Python, where datasketch took 1.5 ms and loaded
numpy and scipy into every extraction process (benchmarks/crawl.py, benchmarks/story_clustering.py).

Fingerprints travel as bytes in datasketch's LeanMinHash layout (seed, the number of values
negated, a scheme byte, the values), 525 bytes. The scheme byte says how the values were
made: the datasketch fingerprints written by earlier releases (scheme 1) never compare
equal to these (scheme 2), so they cannot cause a false match; they stop being found and
are pruned with the rest of the state (STATE_RETENTION_DAYS).
"""

from __future__ import annotations

import hashlib
import re
import struct
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import xxhash

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
_SCHEMES_32 = (0, 1, 2)  # datasketch's legacy and affine32 (earlier releases), OPH_SCHEME; see _values
OPH_SCHEME = 2
_BIN_SHIFT = 64 - 7  # the top 7 bits of a 64-bit hash choose one of NUM_PERM = 128 bins
_VALUE_MASK = 0xFFFFFFFF
_EMPTY = 1 << 32
# Donor attempts per empty bin: a text of MIN_SHINGLES fills at least 12 of 128 bins, so 256
# draws all missing them has a probability below 1e-10; a scan then settles it.
_DONOR_DRAWS = 256
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


@lru_cache(maxsize=1)
def _donors() -> tuple[tuple[int, ...], ...]:
    """Each bin's fixed sequence of donor bins (the same for every text: that is what makes
    two texts' densified bins agree exactly when their donors' values do)."""
    return tuple(
        tuple(
            xxhash.xxh3_64_intdigest(struct.pack("<HH", bin_, draw), seed=SEED) % NUM_PERM
            for draw in range(_DONOR_DRAWS)
        )
        for bin_ in range(NUM_PERM)
    )


def _signature(grams: set[bytes]) -> list[int]:
    bins = [_EMPTY] * NUM_PERM
    hash64 = xxhash.xxh3_64_intdigest
    for gram in grams:
        value = hash64(gram, seed=SEED)
        slot = value >> _BIN_SHIFT
        value &= _VALUE_MASK
        if value < bins[slot]:
            bins[slot] = value
    if _EMPTY not in bins:
        return bins
    dense = list(bins)
    donors = _donors()
    for slot, value in enumerate(bins):
        if value == _EMPTY:
            donor = next((d for d in donors[slot] if bins[d] != _EMPTY), None)
            if donor is None:  # every draw missed: the next filled bin, in order
                donor = next(d % NUM_PERM for d in range(slot + 1, slot + 1 + NUM_PERM) if bins[d % NUM_PERM] != _EMPTY)
            dense[slot] = bins[donor]
    return dense


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
    values = _signature(grams)
    buffer = _HEADER.pack(SEED, -NUM_PERM) + bytes([OPH_SCHEME]) + struct.pack(f"<{NUM_PERM}I", *values)
    return Fingerprint(buffer, _numbers(words))


def _values(minhash: bytes) -> tuple[tuple[int, int], memoryview] | None:
    """(seed, scheme) and the hash values of a fingerprint: the LeanMinHash layout (seed, then
    the number of values, negative when a scheme byte follows; values "<I" for the 32-bit
    schemes), which datasketch wrote in earlier releases and ``fingerprint`` writes now."""
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
