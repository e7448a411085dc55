"""Imported in the extraction forkserver when stories are on (STORIES_ENABLED): the
fingerprint's donor table (128 × 256 bins, built once) and xxhash, shared by every worker
instead of built by each on its first article."""

from crawler.parsing.fingerprint import fingerprint

fingerprint(" ".join(f"слово{number}" for number in range(40)))
