"""The kinds of discovery document, as types: how a source announces its articles (the
sources file's ``feeds``, ``sitemaps`` and ``listings``) and what a fetched document turned
out to be. They are stored and logged by their values, which are the words users know."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DiscoveryKind", "DocumentKind"]


class DiscoveryKind(StrEnum):
    """Where an article link was found: the key of the sources file it comes from."""

    FEED = "feed"
    SITEMAP = "sitemap"
    LISTING = "listing"

    @property
    def paged(self) -> bool:
        """Its documents may go on on a next page (a listing, an RFC 5005 feed)."""
        return self is not DiscoveryKind.SITEMAP


class DocumentKind(StrEnum):
    """What a feed or sitemap document parsed as."""

    RSS = "rss"
    ATOM = "atom"
    RDF = "rdf"
    JSONFEED = "jsonfeed"
    SITEMAP = "sitemap"
    SITEMAPINDEX = "sitemapindex"
    TEXT = "text"  # a plain-text sitemap: one URL per line

    @property
    def via(self) -> DiscoveryKind:
        """The discovery kind of the article links it lists."""
        feeds = (DocumentKind.RSS, DocumentKind.ATOM, DocumentKind.RDF, DocumentKind.JSONFEED)
        return DiscoveryKind.FEED if self in feeds else DiscoveryKind.SITEMAP

    @property
    def is_sitemap(self) -> bool:
        return self in (DocumentKind.SITEMAP, DocumentKind.SITEMAPINDEX)

    @property
    def undated_order(self) -> bool:
        """Its entries come in no meaningful order (a sitemap's, a text list's): newest first is ours to sort."""
        return self in (DocumentKind.SITEMAP, DocumentKind.TEXT)
