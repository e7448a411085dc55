"""Walls a browser passes by running their script: one home for how they are told, read by
extraction (a page with no article), by the spider (an error page, before any extraction)
and by the browser (which waits while a page still is one). Imports nothing heavy: the crawl
process reads error pages without loading the extractor."""

from __future__ import annotations

import re

__all__ = ["SCRIPT_CHALLENGES", "SCRIPT_CHALLENGE_PATTERN", "is_script_challenge"]

# Walls that a browser passes by running their script (not captchas, which need a person):
# their titles and markers. The browser waits while a page's title still says so.
SCRIPT_CHALLENGE_PATTERN = (
    r"just a moment|checking your browser|cf-challenge|challenge-platform|cf-browser-verification|ddos-guard|stormwall"
)
SCRIPT_CHALLENGES = re.compile(SCRIPT_CHALLENGE_PATTERN, re.IGNORECASE)


def is_script_challenge(body: bytes) -> bool:
    """Whether an error page (403, 503) is a wall that a browser running its script passes."""
    return SCRIPT_CHALLENGES.search(body[:100_000].decode("utf-8", "replace")) is not None
