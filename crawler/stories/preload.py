"""Imported in the extraction forkserver when stories are on (STORIES_ENABLED): datasketch
(with numpy and scipy, 0.7 s to import) and its permutations, loaded once and shared by
every worker instead of by each on its first article."""

from crawler.stories.fingerprint import fingerprint

fingerprint(" ".join(f"слово{number}" for number in range(40)))
