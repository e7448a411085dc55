"""Which configured source an archived URL belongs to, asked of the URL alone.

An archive holds every site; a backfill wants a few. The check runs before a record's payload
is read, so it is a dictionary lookup per host suffix, not a loop over the sources: the URL is
cleaned as a crawl cleans a link (tracking parameters, fragments), then a source takes it when
the host is one of its ``allowed_domains`` (or a subdomain) and the URL matches its ``follow``.
"""

from __future__ import annotations

from collections.abc import Iterable

from crawler.config.sources_file import Source
from crawler.parsing.urls import MAX_URL_LENGTH, clean_url, host_of

__all__ = ["OUTSIDE_WINDOW", "SourceIndex"]

# Why an archived page of a source did not come out: its own date (else its capture's) is
# outside the backfill's window. Not a refusal: the page is fine, just not wanted.
OUTSIDE_WINDOW = "outside_window"


class SourceIndex:
    def __init__(self, sources: Iterable[Source]):
        self._by_domain: dict[str, list[Source]] = {}
        for source in sources:
            for domain in source.allowed_domains:
                self._by_domain.setdefault(domain.lower(), []).append(source)

    def source_of(self, url: str) -> tuple[Source, str] | None:
        """The source that takes ``url``, with the URL as the crawl would request it."""
        if len(url) > MAX_URL_LENGTH or not url.startswith(("http://", "https://")):
            return None
        host = host_of(url)
        labels = host.split(".")
        candidates = [
            source for i in range(len(labels) - 1) for source in self._by_domain.get(".".join(labels[i:]), ())
        ]
        if not candidates:
            return None
        cleaned = clean_url(url)
        return next(((source, cleaned) for source in candidates if source.follows(cleaned)), None)

    def takes(self, url: str) -> tuple[str, str] | None:
        """The name of the source that takes ``url``, and the URL cleaned; None when none does."""
        found = self.source_of(url)
        return (found[0].name, found[1]) if found is not None else None
